//! What `enhance` will write where, worked out and checked before any audio is read: folders
//! expanded, `-` for stdin/stdout, every output classified (new or regular file: atomic write;
//! character device or pipe: written directly; anything else refused), and no two inputs
//! mapped to one output or an output over an input.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Extensions (case-insensitive) a folder input is searched for.
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// Where a job's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (or a path that turns out not to be one: reading it reports why).
    File(PathBuf),
    /// Standard input (`-`), read whole before decoding.
    Stdin,
}

/// Where a job's audio goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A new or regular file (symlinks resolved): written to a temp file beside it and renamed.
    Atomic(PathBuf),
    /// An existing character device or named pipe (`/dev/null`, a FIFO): opened and written in
    /// place, since renaming over it would replace the device node with a plain file.
    Device(PathBuf),
    /// Standard output (`-o -`).
    Stdout,
}

/// One input file and its output.
#[derive(Debug, Clone)]
pub struct Job {
    /// The input.
    pub input: Input,
    /// The output.
    pub output: Output,
    /// The input as the user named it (`-` for stdin).
    pub shown_in: String,
    /// The output as the user named it (`-` for stdout).
    pub shown_out: String,
}

/// Expands `inputs` and maps each to its output under `-o` or `--out-dir`, refusing anything
/// that could lose or clobber a file.
pub fn plan(inputs: &[PathBuf], output: Option<&Path>, out_dir: Option<&Path>) -> Result<Vec<Job>> {
    let expanded = expand_inputs(inputs)?;
    let jobs = match (output, out_dir) {
        (Some(o), _) => {
            if let Some(folder) = inputs.iter().find(|p| p.is_dir()) {
                bail!("{}: -o takes one input file, not a folder; use --out-dir", folder.display());
            }
            let [(input, _)] = expanded.as_slice() else {
                bail!("-o takes one input file, got {}; use --out-dir", expanded.len());
            };
            vec![job(input.clone(), classify(o, true)?, o)]
        }
        (None, Some(dir)) => expanded
            .into_iter()
            .map(|(input, rel)| {
                if input == Input::Stdin {
                    bail!("stdin (-) has no file name to write under --out-dir; use -o FILE or -o -");
                }
                let out = dir.join(rel.with_extension("wav"));
                Ok(job(input, classify(&out, false)?, &out))
            })
            .collect::<Result<Vec<_>>>()?,
        (None, None) => bail!("give -o FILE or --out-dir DIR"),
    };
    check_collisions(&jobs)?;
    Ok(jobs)
}

fn job(input: Input, output: Output, shown_out: &Path) -> Job {
    let shown_in = match &input {
        Input::File(p) => p.display().to_string(),
        Input::Stdin => "-".into(),
    };
    Job { input, output, shown_in, shown_out: shown_out.display().to_string() }
}

/// Each input with its output path relative to `--out-dir`: `STEM.wav` for a file, the path
/// inside the folder for a folder's files (mirrored).
fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<(Input, PathBuf)>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.as_os_str() == "-" {
            if out.iter().any(|(i, _)| *i == Input::Stdin) {
                bail!("stdin (-) can be read only once");
            }
            out.push((Input::Stdin, PathBuf::from("-")));
        } else if p.is_dir() {
            let files = audio_files(p)?;
            if files.is_empty() {
                bail!("{}: no audio files ({}) in this folder", p.display(), AUDIO_EXTENSIONS.join(", "));
            }
            out.extend(files.into_iter().map(|rel| (Input::File(p.join(&rel)), rel)));
        } else {
            let stem = p.file_stem().unwrap_or_default();
            out.push((Input::File(p.clone()), PathBuf::from(stem)));
        }
    }
    Ok(out)
}

/// The audio files under `root`, relative to it, sorted. Symlinked folders are not entered
/// (no loops); symlinked files are taken.
fn audio_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).with_context(|| format!("{}: cannot list folder", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("{}: cannot list folder", dir.display()))?;
            let kind = entry.file_type().with_context(|| format!("{}: cannot inspect", entry.path().display()))?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                stack.push(child);
            } else if is_audio_name(&child) && entry.path().is_file() {
                found.push(child);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_audio_name(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(ext))
}

/// How `path` can be written; `check_ext`: a (new or regular) file must be named `.wav` or
/// `.flac`, the formats written, since WAV bytes under another name would mislead.
pub fn classify(path: &Path, check_ext: bool) -> Result<Output> {
    if path.as_os_str() == "-" {
        return Ok(Output::Stdout);
    }
    let shown = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return file_output(path, path, check_ext),
        Err(e) => bail!("{shown}: cannot inspect the output: {e}"),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        let meta = std::fs::metadata(path).with_context(|| format!("{shown}: a symbolic link to a missing file"))?;
        if !meta.is_file() {
            // A device or pipe behind a link (`/dev/stdout`) is opened through the link.
            return classify_existing(path, path, &meta.file_type(), check_ext);
        }
        // Write through the link, keeping it (a rename onto the link would replace it).
        let target = std::fs::canonicalize(path).with_context(|| format!("{shown}: cannot resolve the link"))?;
        return file_output(path, &target, check_ext);
    }
    classify_existing(path, path, &meta.file_type(), check_ext)
}

fn classify_existing(shown: &Path, real: &Path, kind: &std::fs::FileType, check_ext: bool) -> Result<Output> {
    use std::os::unix::fs::FileTypeExt;
    let s = shown.display();
    if kind.is_file() {
        file_output(shown, real, check_ext)
    } else if kind.is_dir() {
        bail!("{s}: is a folder; give -o a file name, or use --out-dir")
    } else if kind.is_char_device() || kind.is_fifo() {
        Ok(Output::Device(real.to_path_buf()))
    } else if kind.is_block_device() {
        bail!("{s}: is a block device; refusing to write a WAV over it")
    } else {
        bail!("{s}: is not a regular file, character device or pipe; refusing to write it")
    }
}

fn file_output(shown: &Path, real: &Path, check_ext: bool) -> Result<Output> {
    let ext = shown.extension().and_then(|e| e.to_str()).unwrap_or("");
    if check_ext && crate::audio::Container::of(shown).is_none() {
        let got = if ext.is_empty() { "no extension".to_string() } else { format!(".{ext}") };
        bail!("{}: enhance writes WAV or FLAC; name the output .wav or .flac (got {got})", shown.display());
    }
    Ok(Output::Atomic(real.to_path_buf()))
}

/// Refuses two jobs writing one file, and an output that is also an input (it would be
/// overwritten before, or while, it is read).
fn check_collisions(jobs: &[Job]) -> Result<()> {
    let inputs: HashMap<PathBuf, &str> = jobs
        .iter()
        .filter_map(|j| match &j.input {
            Input::File(p) => Some((key(p), j.shown_in.as_str())),
            Input::Stdin => None,
        })
        .collect();
    let mut outputs: HashMap<PathBuf, &str> = HashMap::new();
    for j in jobs {
        let Output::Atomic(out) = &j.output else { continue };
        let k = key(out);
        if let Some(other) = outputs.insert(k.clone(), &j.shown_in) {
            bail!(
                "{other} and {} would both be written to {}; nothing was enhanced (rename one, or enhance them into separate --out-dir folders)",
                j.shown_in, j.shown_out
            );
        }
        if let Some(input) = inputs.get(&k) {
            bail!("{}: the output of {} is an input ({input}); nothing was enhanced (choose another output)", j.shown_out, j.shown_in);
        }
    }
    Ok(())
}

/// A comparable absolute form of `p`: its longest existing ancestor canonicalized (symlinks and
/// `..` resolved), the rest appended.
fn key(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(mut k) = std::fs::canonicalize(at) {
            for part in rest.iter().rev() {
                k.push(part);
            }
            return k;
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_dot_dot_and_missing_tails() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("a")).unwrap();
        assert_eq!(key(&d.join("a/../new/x.wav")), key(&d.join("new/x.wav")));
        assert_ne!(key(&d.join("a/x.wav")), key(&d.join("x.wav")));
    }
}
