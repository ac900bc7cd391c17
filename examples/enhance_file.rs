//! The library API in a few lines: enhance one file to 16 kHz mono with the shipped model.
//!
//! `cargo run --release --example enhance_file -- examples/noisy.wav /tmp/enhanced.wav`

use restoregrad::audio::{read_audio, write_wav, Audio, SampleFormat};
use restoregrad::dsp::resample::resample;
use restoregrad::engine::streamer::{enhance_mono_16k, StreamerConfig};
use restoregrad::model::{load_enhancer, parse_device};
use restoregrad::MODEL_RATE;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = &args[..] else {
        anyhow::bail!("usage: enhance_file IN OUT");
    };
    let device = parse_device("cpu").map_err(anyhow::Error::msg)?;
    let mut enhancer = load_enhancer(None, &device, 0)?;
    let audio = read_audio(input)?;
    let x = resample(&audio.to_mono(), audio.sample_rate, MODEL_RATE);
    let y = enhance_mono_16k(&mut enhancer, &StreamerConfig::default(), &x)?;
    write_wav(output, &Audio::mono(MODEL_RATE, y), SampleFormat::Pcm16)?;
    Ok(())
}
