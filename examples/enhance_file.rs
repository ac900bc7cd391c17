//! The library API in a few lines: enhance one file (any rate, any channels) with the shipped
//! model, compiled into the library; the output has the input's rate, channels and length.
//!
//! `cargo run --release --example enhance_file -- examples/noisy.wav /tmp/enhanced.wav`

use restoregrad::audio::{read_audio, write_audio, Audio, SampleFormat};
use restoregrad::{Model, PipelineBuilder};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = &args[..] else {
        anyhow::bail!("usage: enhance_file IN OUT");
    };
    let audio = read_audio(input)?;
    let model = Model::shipped()?;
    let mut pipeline = PipelineBuilder::new(audio.sample_rate, audio.channels).build(&model)?;
    let enhanced = pipeline.enhance(&audio.samples);
    write_audio(output, &Audio { samples: enhanced, ..audio }, SampleFormat::Pcm16)?;
    Ok(())
}
