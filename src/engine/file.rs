//! A whole stream through a [`Pipeline`], aligned with its input; and a file enhanced into an
//! atomic WAV file with it.
//!
//! [`stream_aligned`] is the read -> process -> align -> write loop that the `enhance` command
//! runs on every file (with its own sinks: atomic file, device, stdout) and that
//! [`enhance_file`] runs for embedders (the Python package) without the command's dependencies.

use std::path::Path;

use crate::audio::{ensure_distinct, AudioError, AudioReader, SampleFormat, AudioWriter};
use crate::engine::pipeline::{Aligner, Pipeline, PipelineBuilder};
use crate::{Error, Model};

/// Frames read and fed per block by [`enhance_file`] (as by the `enhance` command): bounded
/// memory whatever the file length.
pub const FILE_BLOCK: usize = 1 << 14;

/// Frames in and out of one [`stream_aligned`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streamed {
    /// Frames read from the source.
    pub frames_in: u64,
    /// Aligned frames given to the sink; equal to `frames_in` unless something is wrong.
    pub frames_out: u64,
}

impl Streamed {
    /// The frames of a complete run of `input`: a file that held no audio, or output that fell
    /// short of the input, is an error naming the file.
    pub fn check(&self, input: &Path) -> Result<u64, Error> {
        if self.frames_in == 0 {
            return Err(AudioError::ZeroLength { path: input.to_path_buf() }.into());
        }
        if self.frames_out != self.frames_in {
            return Err(Error::Setting(format!("{}: internal error: wrote {} of {} frames", input.display(), self.frames_out, self.frames_in)));
        }
        Ok(self.frames_in)
    }
}

/// Feeds every block `read` gives (interleaved, up to `block` frames; 0 frames ends) through
/// `pipeline`, trims its delay and flushes its tail, giving `write` output aligned with the
/// input sample for sample. `progress` is told the frames read so far after each block.
pub fn stream_aligned<E>(
    pipeline: &mut Pipeline<'_>,
    block: usize,
    mut read: impl FnMut(&mut Vec<f32>, usize) -> Result<usize, E>,
    mut write: impl FnMut(&[f32]) -> Result<(), E>,
    mut progress: impl FnMut(u64),
) -> Result<Streamed, E> {
    let channels = pipeline.channels();
    let mut aligner = Aligner::new(pipeline.latency().total_out, channels);
    let (mut interleaved, mut raw, mut aligned) = (Vec::with_capacity(block * channels), Vec::new(), Vec::new());
    let mut frames_in = 0u64;
    while let n @ 1.. = read(&mut interleaved, block)? {
        frames_in += n as u64;
        pipeline.process(&interleaved, &mut raw);
        aligner.push(&raw, frames_in, &mut aligned);
        write(&aligned)?;
        raw.clear();
        aligned.clear();
        progress(frames_in);
    }
    if frames_in > 0 {
        pipeline.finish(&mut raw);
        aligner.push(&raw, frames_in, &mut aligned);
        write(&aligned)?;
    }
    Ok(Streamed { frames_in, frames_out: aligner.written() })
}

/// Enhances the audio file `input` (any format and rate the reader takes) into `output`, a
/// `.wav` or (16-bit) `.flac` file by its name, with `settings`' steps, samples, attenuation limit, chunk size and seed (its rate
/// and channels are replaced by the file's); returns the seconds of audio.
///
/// The output is written atomically (a temp file renamed into place): on any error the target
/// is left as it was. Errors name the file: unreadable or damaged input, a zero-length file, an
/// output over its own input, a missing output folder, another output extension.
pub fn enhance_file(input: &Path, output: &Path, settings: PipelineBuilder, model: &Model, format: SampleFormat) -> Result<f64, Error> {
    ensure_distinct(input, output)?;
    let mut reader = AudioReader::open(input)?;
    let (rate, channels) = (reader.sample_rate(), reader.channels());
    let mut pipeline = settings.audio(rate, channels).max_block(FILE_BLOCK).build(model)?;
    let mut writer = AudioWriter::create(output, rate, channels, format)?;
    let frames = stream_aligned(&mut pipeline, FILE_BLOCK, |buf, n| reader.read_block(buf, n), |s| writer.write(s), |_| ())?.check(input)?;
    let report = writer.finish()?;
    if report.clipped > 0 {
        tracing::warn!("{}: {} samples clipped", report.path.display(), report.clipped);
    }
    Ok(frames as f64 / rate as f64)
}
