"""W2 and T3: damaged, old and pickled checkpoints."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from conftest import make_cohort, one_error_line
from gexgen.errors import GexgenError
from gexgen.train import TrainConfig, train_cvae
from gexgen.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, weights_sha256

TINY = TrainConfig(
    encoder_hidden=(32, 16),
    n_latent=4,
    decoder_hidden=(16, 64),
    batch_size=16,
    epochs=2,
    device="cpu",
    patience=None,
    threads=1,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    cohort = make_cohort(folder / "cohort.h5ad", n=48, n_genes=12)
    train_cvae(cohort, folder / "run", TINY, progress=False)
    return folder / "run"


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    (out / CHECKPOINT_NAME).write_bytes((run / CHECKPOINT_NAME).read_bytes())
    return out


def test_checkpoint_stores_a_weight_checksum(run):
    ckpt = load_checkpoint(run)
    assert ckpt["weights_sha256"] == weights_sha256(ckpt["model_state"])


def test_zeroed_bytes_inside_a_weight_tensor_are_refused(cli, run, tmp_path):
    damaged = _copy(run, tmp_path)
    path = damaged / CHECKPOINT_NAME
    with zipfile.ZipFile(path) as archive:
        entry = max(
            (i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size
        )
    raw = bytearray(path.read_bytes())
    # the local header: 30 bytes + name + extra field, then the stored (uncompressed) bytes
    start = entry.header_offset + 30
    name_len = int.from_bytes(raw[entry.header_offset + 26 : entry.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[entry.header_offset + 28 : entry.header_offset + 30], "little")
    data = start + name_len + extra_len
    n = min(5000, entry.file_size // 2)
    raw[data + 8 : data + 8 + n] = bytes(n)
    path.write_bytes(bytes(raw))
    with pytest.raises(GexgenError, match="damaged"):
        load_checkpoint(damaged)
    out = tmp_path / "g.onnx"
    err = one_error_line(cli("export", damaged, "--out", out))
    assert "do not match the checksum" in err and not out.exists()


def test_a_changed_tensor_saved_without_a_new_checksum_is_refused(run, tmp_path):
    ckpt = torch.load(run / CHECKPOINT_NAME, weights_only=True)
    name = next(k for k in ckpt["model_state"] if k.startswith("decoder."))
    ckpt["model_state"][name] = torch.zeros_like(ckpt["model_state"][name])
    out = tmp_path / "run"
    out.mkdir()
    torch.save(ckpt, out / CHECKPOINT_NAME)
    with pytest.raises(GexgenError, match="damaged"):
        load_checkpoint(out)


def test_old_checkpoints_without_a_checksum_still_load_with_a_warning(run, tmp_path):
    ckpt = torch.load(run / CHECKPOINT_NAME, weights_only=True)
    del ckpt["weights_sha256"]
    out = tmp_path / "run"
    out.mkdir()
    torch.save(ckpt, out / CHECKPOINT_NAME)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_checkpoint(out)
    assert "model_state" in loaded
    assert any("could not be verified" in str(w.message) for w in caught)


class Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_objects_never_run_and_the_advice_is_safe(cli, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    torch.save({"format": "gexgen-checkpoint", "x": Payload()}, out / CHECKPOINT_NAME)
    with pytest.raises(GexgenError) as info:
        load_checkpoint(out)
    message = str(info.value)
    assert "weights_only=False" not in message and "can still be loaded" not in message
    assert "holds pickled Python objects, which gexgen never loads" in message
    result = cli("export", out, "--out", tmp_path / "g.onnx")
    err = one_error_line(result)
    assert "pwned" not in result.output
    assert "weights_only" not in err and "can still be loaded" not in err and "\x1b" not in err
