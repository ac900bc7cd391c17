"""The array API: against the command line's output and the golden file, shapes, dtypes and
channels, and bad input raising clear exceptions."""

import subprocess

import numpy as np
import pytest

import restoregrad
from conftest import FIXTURE, ROOT, cli_binary, read_wav

#: Largest allowed difference per sample against the command line and the golden file: float
#: summation order only (tests/golden_model.rs uses the same bound; a model change moves
#: samples by 1e-3 and more).
TOLERANCE = 2e-4


@pytest.fixture(scope="module")
def noisy():
    x, rate = read_wav(FIXTURE)
    return x[:, 0], rate


def run_cli(tmp_path, *flags):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no built `restoregrad` program (cargo build --release, or set RESTOREGRAD_BIN)")
    out = tmp_path / "cli.wav"
    subprocess.run([binary, "-q", "enhance", str(FIXTURE), *flags, "-o", str(out)], check=True)
    return read_wav(out)[0]


def test_float_output_equals_the_command_lines(noisy, tmp_path):
    x, rate = noisy
    cli = run_cli(tmp_path, "--float")[:, 0]
    ours = restoregrad.enhance(x, rate)
    assert ours.shape == cli.shape
    assert np.abs(ours - cli).max() <= TOLERANCE
    assert np.abs(ours - x).max() > 0.01  # and it is not the input


def test_int16_output_equals_the_command_lines_16_bit_output(noisy, tmp_path):
    x, rate = noisy
    cli = np.round(run_cli(tmp_path)[:, 0] * 32768).astype(np.int32)
    ours = restoregrad.enhance(np.round(x * 32768).astype(np.int16), rate)
    assert ours.dtype == np.int16
    assert np.abs(ours.astype(np.int32) - cli).max() <= 1  # one step of rounding


def test_live_settings_equal_the_golden_file(noisy):
    x, rate = noisy
    golden = read_wav(ROOT / "tests/golden/shipped_p287_002.wav")[0][:, 0]
    ours = restoregrad.enhance(x, rate, chunk_frames=restoregrad.STREAM_CHUNK_FRAMES)
    assert np.abs(ours - golden).max() <= TOLERANCE


def test_enhance_file_equals_the_command_line(tmp_path):
    cli = run_cli(tmp_path, "--float")
    out = tmp_path / "py.wav"
    seconds = restoregrad.enhance_file(FIXTURE, out, float32=True)
    ours, rate = read_wav(out)
    assert abs(seconds - len(ours) / rate) < 1e-9
    assert np.abs(ours - cli).max() <= TOLERANCE


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("shape", [(4410,), (4410, 1), (4410, 2), (4410, 3)])
def test_shape_and_dtype_are_kept(dtype, shape):
    rng = np.random.default_rng(1)
    x = 0.1 * rng.standard_normal(shape)
    x = (x * 32768).astype(np.int16) if dtype == np.int16 else x.astype(dtype)
    y = restoregrad.enhance(x, 44_100)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.any(y != 0)


def test_channels_are_enhanced_independently(noisy):
    x, rate = noisy
    x = x[: rate // 2]
    stereo = np.stack([x, np.zeros_like(x)], axis=1)
    y = restoregrad.enhance(stereo, rate)
    assert np.abs(y[:, 0] - restoregrad.enhance(x, rate)).max() <= TOLERANCE
    assert np.abs(y[:, 1]).max() < 1e-3  # silence in, (near) silence out


def test_same_seed_same_output_other_seed_other_output(noisy):
    x, rate = noisy
    x = x[:rate]
    a, b = restoregrad.enhance(x, rate, seed=3), restoregrad.enhance(x, rate, seed=3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, restoregrad.enhance(x, rate, seed=4))


def test_non_contiguous_input_is_read_right():
    x = 0.1 * np.random.default_rng(2).standard_normal((16_000, 2)).astype(np.float32)
    fortran = np.asfortranarray(x)
    assert np.array_equal(restoregrad.enhance(fortran, 16_000), restoregrad.enhance(x, 16_000))


@pytest.mark.parametrize(
    "audio, kwargs, message",
    [
        (np.zeros(100, np.int32), {}, "float32, float64 or int16"),
        (np.zeros((10, 2, 2), np.float32), {}, r"\(n,\) or \(n, channels\)"),
        (np.zeros(0, np.float32), {}, "zero-length"),
        (np.zeros((100, 0), np.float32), {}, "0 channels"),
        (np.array([0.0, np.nan, 0.0], np.float32), {}, "invalid sample NaN at frame 1, channel 0"),
        (np.array([[0.0, 0.0], [0.0, np.inf]]), {}, "invalid sample inf at frame 1, channel 1"),
        (np.zeros(100, np.float32), {"steps": 9}, "steps must be 1..=6, got 9"),
        (np.zeros(100, np.float32), {"samples": 3}, "samples must be 1..=2"),
        (np.zeros(100, np.float32), {"atten_lim_db": -1.0}, "atten_lim_db"),
        (np.zeros(100, np.float32), {"post_filter": -1}, "post_filter"),
        (np.zeros(100, np.float32), {"post_filter": 5.0}, "post_filter"),
        (np.zeros(100, np.float32), {"post_filter": float("nan")}, "post_filter"),
        (np.zeros(100, np.float32), {"post_filter": "2"}, "post_filter"),
        (np.zeros(100, np.float32), {"post_filter": True}, "post_filter"),
        (np.zeros(100, np.float32), {"chunk_frames": 0}, "chunk frames"),
    ],
)
def test_bad_input_raises_value_error(audio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        restoregrad.enhance(audio, 16_000, **kwargs)


def test_post_filter_removes_more_residual_noise(noisy):
    x, rate = noisy
    off = restoregrad.enhance(x, rate, post_filter=0)
    on = restoregrad.enhance(x, rate, post_filter=2)
    assert not np.array_equal(off, on)
    # It only ever scales bins down (G**p <= 1 where G < 1), so the signal loses energy.
    assert np.sum(on.astype(np.float64) ** 2) < np.sum(off.astype(np.float64) ** 2)


def test_post_filter_none_is_the_engines_default(noisy):
    x, rate = noisy
    x = x[:rate]
    assert isinstance(restoregrad.DEFAULT_POST_FILTER, float)
    assert np.array_equal(
        restoregrad.enhance(x, rate), restoregrad.enhance(x, rate, post_filter=restoregrad.DEFAULT_POST_FILTER)
    )


def test_post_filter_output_equals_the_command_lines(noisy, tmp_path):
    x, rate = noisy
    cli = run_cli(tmp_path, "--float", "--post-filter", "2")[:, 0]
    assert np.abs(restoregrad.enhance(x, rate, post_filter=2) - cli).max() <= TOLERANCE


def test_enhance_file_takes_post_filter(noisy, tmp_path):
    x, rate = noisy
    out = tmp_path / "py.wav"
    restoregrad.enhance_file(FIXTURE, out, post_filter=2, float32=True)
    assert np.abs(read_wav(out)[0][:, 0] - restoregrad.enhance(x, rate, post_filter=2)).max() <= TOLERANCE
    with pytest.raises(ValueError, match="post_filter"):
        restoregrad.enhance_file(FIXTURE, tmp_path / "bad.wav", post_filter=5)
    assert not (tmp_path / "bad.wav").exists()


@pytest.mark.parametrize("rate", [0, -5, 500_000, 16_000.0])
def test_bad_rate_raises_value_error(rate):
    with pytest.raises(ValueError, match="sample.rate"):
        restoregrad.enhance(np.zeros(100, np.float32), rate)


def test_file_errors_name_the_file_and_leave_no_output(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(OSError, match="missing.wav"):
        restoregrad.enhance_file(missing, tmp_path / "out.wav")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(OSError, match="corrupt.wav"):
        restoregrad.enhance_file(corrupt, tmp_path / "out.wav")
    with pytest.raises(OSError, match="does not exist"):
        restoregrad.enhance_file(FIXTURE, tmp_path / "no/such/folder/out.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.wav"]


def test_a_failed_write_keeps_the_old_output(tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"previous")
    with pytest.raises(ValueError, match="steps"):
        restoregrad.enhance_file(FIXTURE, out, steps=0)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(OSError, match="bad.wav"):
        restoregrad.enhance_file(bad, out)
    assert out.read_bytes() == b"previous"


def test_output_over_its_input_is_refused(tmp_path):
    inp = tmp_path / "in.wav"
    inp.write_bytes(FIXTURE.read_bytes())
    with pytest.raises(OSError, match="over its own input"):
        restoregrad.enhance_file(inp, inp)
    assert inp.read_bytes() == FIXTURE.read_bytes()


def test_model_argument(tmp_path):
    x = np.zeros(1600, np.float32)
    shipped = restoregrad.Model()
    assert np.array_equal(restoregrad.enhance(x, 16_000, model=shipped), restoregrad.enhance(x, 16_000))
    loaded = restoregrad.Model(ROOT / "models/default")
    assert loaded.path is not None
    with pytest.raises(RuntimeError, match="nowhere"):
        restoregrad.enhance(x, 16_000, model=tmp_path / "nowhere")
    with pytest.raises(TypeError):
        restoregrad.enhance(x, 16_000, model=42)
