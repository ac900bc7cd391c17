//! Nothing left behind: the temp files being written and the folders `enhance` created are
//! known here, so that SIGINT/SIGTERM (and a failed run) can remove them.
//!
//! The signal handler ends the process with `exit(130)`, which runs no destructors, so it
//! removes the tracked temp files itself. It holds the registry lock while doing so and
//! exiting; files are created and registered under the same lock, so none can appear between
//! the handler's sweep and the exit.

use crate::audio::{AudioError, SampleFormat, AudioWriter, WriteReport};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Exit status after SIGINT/SIGTERM (128 + SIGINT, the shell convention).
pub const INTERRUPTED_EXIT: i32 = 130;

struct Tracked {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

static TRACKED: Mutex<Tracked> = Mutex::new(Tracked { files: Vec::new(), dirs: Vec::new() });

fn tracked() -> MutexGuard<'static, Tracked> {
    // A panic elsewhere must not stop the cleanup.
    TRACKED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the SIGINT/SIGTERM handler: remove the tracked temp files and the folders created
/// (if empty), say so, exit 130.
pub fn install_signal_handler() {
    let res = ctrlc::set_handler(|| {
        let mut t = tracked();
        for f in t.files.drain(..) {
            let _ = std::fs::remove_file(f);
        }
        remove_dirs(&mut t);
        crate::diag!("interrupted: unfinished outputs removed");
        std::process::exit(INTERRUPTED_EXIT);
    });
    if let Err(e) = res {
        tracing::warn!("cannot catch Ctrl-C ({e}); an interrupted run may leave .*.tmp files");
    }
}

/// Creates `dir` and its missing ancestors, remembering each one created.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.as_os_str().is_empty() && !at.exists() {
        missing.push(at);
        at = at.parent().unwrap_or(Path::new(""));
    }
    let mut t = tracked();
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => t.dirs.push(d.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e).with_context(|| format!("{}: cannot create output folder", d.display())),
        }
    }
    Ok(())
}

/// Removes the folders created by [`create_dir_all`] that are (still) empty, deepest first.
pub fn remove_created_dirs() {
    remove_dirs(&mut tracked());
}

fn remove_dirs(t: &mut Tracked) {
    for d in t.dirs.drain(..).rev() {
        let _ = std::fs::remove_dir(d);
    }
}

fn untrack(path: &Path) {
    tracked().files.retain(|f| f != path);
}

/// A [`AudioWriter`] whose temp file the signal handler knows about.
pub struct TrackedWriter {
    inner: Option<AudioWriter>,
    tmp: PathBuf,
}

impl TrackedWriter {
    /// [`AudioWriter::create`], registered for cleanup.
    pub fn create(path: &Path, rate: u32, channels: usize, format: SampleFormat) -> Result<Self, AudioError> {
        let mut t = tracked();
        let inner = AudioWriter::create(path, rate, channels, format)?;
        let tmp = inner.temp_path().map(Path::to_path_buf).unwrap_or_default();
        t.files.push(tmp.clone());
        Ok(Self { inner: Some(inner), tmp })
    }

    /// [`AudioWriter::write`].
    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        self.inner.as_mut().expect("written after finish").write(samples)
    }

    /// [`AudioWriter::finish`], then forgets the temp file (renamed or removed by now).
    pub fn finish(mut self) -> Result<WriteReport, AudioError> {
        self.inner.take().expect("finished once").finish()
    }
}

impl Drop for TrackedWriter {
    fn drop(&mut self) {
        drop(self.inner.take()); // removes an unfinished temp file
        untrack(&self.tmp);
    }
}

/// A temp file holding standard input, removed on drop and by the signal handler.
pub struct StdinCopy {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl StdinCopy {
    /// Copies all of stdin into a temp file (decoding needs a seekable file).
    pub fn read() -> Result<Self> {
        let file = {
            let mut t = tracked();
            let file = tempfile::Builder::new().prefix(".restoregrad-stdin.").suffix(".tmp").tempfile().context("cannot create a temp file for stdin")?;
            t.files.push(file.path().to_path_buf());
            file
        };
        let copy = Self { path: file.path().to_path_buf(), file: Some(file) };
        let mut sink = copy.file.as_ref().expect("just created").as_file();
        std::io::copy(&mut std::io::stdin().lock(), &mut sink).context("cannot read stdin")?;
        Ok(copy)
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StdinCopy {
    fn drop(&mut self) {
        drop(self.file.take()); // removes the file before it is forgotten
        untrack(&self.path);
    }
}
