"""The one training loop of the course.

``fit`` trains any classifier on any pair of DataLoaders and returns a :class:`History` with
loss and accuracy per epoch for train and test. The notebooks first show the plain fp32
training *step* (``zero_grad -> forward -> loss -> backward -> step``, ``model.train()`` /
``model.eval()`` and ``torch.no_grad()``: notebook 02 §2 and notebook 03 §4 write it out in
full); ``fit`` repeats that step and adds what a student's laptop needs:

* an estimate before the run ("이 셀은 이 컴퓨터에서 약 N분 걸립니다", from timing the first
  batches) and one progress bar per run with an ETA (tqdm.auto: JupyterLab, Colab, terminals);
* speed without changing what is taught: bf16 autocast and ``channels_last`` for convolutional
  models where the CPU has AVX-512-BF16 or AMX (fp32 elsewhere, chosen automatically and
  printed; ``CHAPTER5_PRECISION=fp32`` turns it off), no host sync per batch, threads matched
  to the physical cores, ``torch.inference_mode()`` for evaluation, and in-memory tensor
  datasets sliced directly instead of item by item;
* Kernel → Interrupt keeps the best model so far (by test accuracy) and returns normally,
  so later cells still run;
* class mode (``CHAPTER5_CLASS_MODE=1`` or ``config.setup(class_mode=True)``): a named run
  (``desc``) shows its recorded curves (``notebooks/records/fit-<desc>.json``, see
  :mod:`chapter5.records`) instead of training; ``python -m chapter5 results`` writes them.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .config import seed_everything
from .config import device as default_device


@dataclass
class History:
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # training wall time per epoch (without evaluation)
    val_acc: list = field(default_factory=list)  # only with fit(val_loader=...)
    best_epoch: int = 0  # with fit(patience=...): the epoch (1-based) whose weights the model keeps
    loaded: bool = False  # True when class mode loaded this run instead of training it

    @property
    def train_time(self) -> float:
        return float(sum(self.seconds))

    @property
    def final_test_acc(self) -> float:
        return self.test_acc[-1] if self.test_acc else float("nan")

    def as_dict(self) -> dict:
        out = {k: list(getattr(self, k)) for k in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")}
        if self.val_acc:  # early-stopped runs only (older records have neither key)
            out.update(val_acc=list(self.val_acc), best_epoch=self.best_epoch)
        return out


def train_step(model, x, y, optimizer, loss_fn):
    """One optimisation step; returns (loss, number correct) as tensors (no host sync)."""
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(logits, y)
    loss.backward()
    optimizer.step()
    return loss.detach(), (logits.argmax(1) == y).sum()


# --------------------------------------------------------------------------- the machine

def physical_cores() -> int:
    """Physical cores (hyper-threads share one core's vector units, so they do not help)."""
    try:
        cores = set()
        block = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            if not line.strip():
                if "core id" in block:
                    cores.add((block.get("physical id"), block["core id"]))
                block = {}
            elif ":" in line:
                k, v = line.split(":", 1)
                block[k.strip()] = v.strip()
        if cores:
            return len(cores)
    except OSError:
        pass
    return max(1, (os.cpu_count() or 2) // 2) if (os.cpu_count() or 1) > 2 else (os.cpu_count() or 1)


def use_physical_cores() -> int:
    """Never more threads than physical cores (more only contend); a lower count that the
    notebook or the user chose (``torch.set_num_threads``) is kept."""
    n = min(physical_cores(), os.cpu_count() or 1)
    if torch.get_num_threads() > n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def bf16_supported() -> bool:
    """The CPU computes bf16 natively (AVX-512-BF16 or AMX); emulated bf16 would be slower."""
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        with contextlib.suppress(Exception):
            if getattr(cpu, probe)():
                return True
    return False


def precision_for(model, device) -> str:
    """``"bf16"`` (autocast + channels_last) for convolutional models on a CPU that has it,
    else ``"fp32"``. ``CHAPTER5_PRECISION=fp32`` / ``bf16`` overrides (bf16 only where supported)."""
    wish = os.environ.get("CHAPTER5_PRECISION", "auto").strip().lower()
    if wish == "fp32" or torch.device(device).type != "cpu" or not bf16_supported():
        return "fp32"
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return "bf16" if wish == "bf16" or has_conv else "fp32"


def channels_last_ok(model, x) -> bool:
    """Whether ``model`` runs on a ``channels_last`` batch: a forward written with
    ``out.view(out.size(0), -1)`` (as the textbook does) cannot flatten such a tensor, so the
    course loop then keeps the usual layout. Probed in eval mode, without side effects."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model.to(memory_format=torch.channels_last)(x[:2].contiguous(memory_format=torch.channels_last))
        return True
    except RuntimeError:
        model.to(memory_format=torch.contiguous_format)
        return False
    finally:
        model.train(was_training)


def _autocast(precision: str, device):
    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- batches

def _tensor_batches(loader):
    """Batches of an in-memory ``TensorDataset`` by slicing (no per-item indexing and collate),
    in the same order a default DataLoader would use; None when the loader is anything else."""
    from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler, TensorDataset
    from torch.utils.data._utils.collate import default_collate

    ds = getattr(loader, "dataset", None)
    bs = getattr(loader, "batch_sampler", None)
    if not (isinstance(ds, TensorDataset) and type(bs) is BatchSampler and loader.collate_fn is default_collate
            and type(bs.sampler) in (RandomSampler, SequentialSampler)):
        return None
    n = len(ds)
    # A DataLoader iterator first draws its base seed, then asks the sampler for the order:
    # doing the same keeps the batches (and so every result) identical to iter(loader).
    torch.empty((), dtype=torch.int64).random_(generator=loader.generator)
    order = torch.as_tensor(list(bs.sampler), dtype=torch.long)
    size = bs.batch_size
    stop = n - n % size if bs.drop_last else n
    return ([t[order[i:i + size]] for t in ds.tensors] for i in range(0, stop, size))


def batches(loader):
    """Iterate ``loader``'s batches, fast for in-memory tensor datasets."""
    fast = _tensor_batches(loader)
    return fast if fast is not None else iter(loader)


@torch.inference_mode()
def evaluate(model, loader, loss_fn=None, device=None):
    """Mean loss and accuracy of ``model`` on ``loader`` (``model.eval()``, no gradients)."""
    device = device or next(model.parameters()).device
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.eval()
    total, loss_sum, correct = 0, torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.long)
    for x, y in batches(loader):
        x, y = x.to(device), y.to(device)
        logits = model(x).float()
        loss_sum += loss_fn(logits, y).double() * len(y)
        correct += (logits.argmax(1) == y).sum()
        total += len(y)
    return loss_sum.item() / max(total, 1), correct.item() / max(total, 1)


@torch.inference_mode()
def predict(model, loader, device=None):
    """``(y_true, y_pred, probabilities)`` as CPU tensors for a whole loader."""
    device = device or next(model.parameters()).device
    model.eval()
    ys, preds, probs = [], [], []
    for x, y in batches(loader):
        p = model(x.to(device)).float().softmax(1).cpu()
        ys.append(y)
        preds.append(p.argmax(1))
        probs.append(p)
    return torch.cat(ys), torch.cat(preds), torch.cat(probs)


# --------------------------------------------------------------------------- records of runs

def fit_inputs(model, train_loader, *, epochs, optimizer, loss_fn, scheduler, seed) -> dict:
    """What a named run is of (see :mod:`chapter5.records`): the calling cell, the model's class
    source and size, the optimizer's name and learning-rate settings, the loss, the scheduler,
    the data size and batch size, epochs and seed — never an object's ``repr`` of library
    internals (those change between torch releases)."""
    from . import records

    keys = ("lr", "weight_decay", "momentum", "betas")
    groups = [{k: g[k] for k in keys if k in g} for g in optimizer.param_groups] if optimizer else None
    settings = {"model": type(model).__name__,
                "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                "optimizer": type(optimizer).__name__, "groups": groups,
                "loss": type(loss_fn).__name__, "label_smoothing": getattr(loss_fn, "label_smoothing", None),
                "scheduler": type(scheduler).__name__ if scheduler is not None else None,
                "data": len(getattr(train_loader, "dataset", [])), "batch": getattr(train_loader, "batch_size", None),
                "epochs": epochs, "seed": seed}
    return records.inputs(code=(type(model),), settings=settings)


# --------------------------------------------------------------------------- fit

_SAID: set = set()  # precision lines already printed in this kernel
# the estimate a long training prints: the first WARM_BATCHES batches set up the kernels (slow, not
# timed), the next ESTIMATE_BATCHES give the time per batch for the rest of the run
WARM_BATCHES, ESTIMATE_BATCHES = 2, 8


def _fmt_seconds(s: float) -> str:
    s = max(1, round(s))
    return f"{s // 60}분 {s % 60}초" if s >= 60 else f"{s}초"


def fit(model, train_loader, test_loader=None, *, epochs: int = 5, optimizer=None, lr: float = 1e-3,
        loss_fn=None, scheduler=None, device=None, seed: int | None = 0, desc: str = "train",
        progress: bool = True, val_loader=None, patience: int | None = None) -> History:
    """Train ``model`` for ``epochs`` and evaluate on ``test_loader`` after each epoch.

    ``optimizer`` defaults to Adam(lr); ``scheduler`` (if any) is stepped after every batch,
    which is what ``OneCycleLR`` expects. ``desc`` names the run (progress bar, class mode);
    ``progress=False`` runs silently (no estimate, no bar, no class mode).

    Early stopping: with ``val_loader`` the validation accuracy is measured after each epoch
    (``History.val_acc``); with ``patience`` as well, training stops once it has not improved for
    ``patience`` epochs and the model keeps the weights of its best validation epoch
    (``History.best_epoch``); ``epochs`` is then the most it may train.
    """
    if patience is not None and val_loader is None:
        raise ValueError("patience (early stopping) needs a val_loader to watch")
    from tqdm.auto import tqdm

    if seed is not None:
        seed_everything(seed)
    device = device or default_device()
    use_physical_cores()
    model.to(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if optimizer is None:
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    named = progress and desc != "train"
    from . import records

    inp = fit_inputs(model, train_loader, epochs=epochs, optimizer=optimizer, loss_fn=loss_fn,
                     scheduler=scheduler, seed=seed) if named and records.mode() != "quick" else None
    if inp is not None and records.mode() == "class":  # the curves of the run, recorded
        hist, line = records.load(f"fit-{desc}", inp)
        print(line)
        if hist is not None:
            return hist
    precision = precision_for(model, device)
    first = None
    if precision == "bf16":  # peek at one batch without disturbing the shuffling that follows
        rng, gen = torch.get_rng_state(), getattr(train_loader, "generator", None)
        gen_state = gen.get_state() if gen is not None else None
        first = next(iter(batches(train_loader)), None)
        torch.set_rng_state(rng)
        if gen is not None:
            gen.set_state(gen_state)
    layout = (precision == "bf16" and first is not None and first[0].dim() == 4
              and channels_last_ok(model, first[0].to(device)))
    said = ("bf16 autocast (이 CPU 는 bf16 을 직접 계산합니다)" if precision == "bf16" else "fp32") \
        + (" + channels_last" if layout else "")
    if progress and said not in _SAID:  # once per kernel: it is a fact about this machine
        _SAID.add(said)
        print(f"정밀도 (precision): {said}")
    n_batches = len(train_loader)
    hist = History()
    best = (-1.0, None, 0)  # (test accuracy, weights, epoch)
    best_val = (-1.0, None, 0)  # (validation accuracy, weights, epoch) with val_loader
    bar = tqdm(total=epochs * n_batches, desc=desc, unit="batch", disable=not progress, mininterval=0.5)
    estimated, warm = not progress, (0.0, 0)  # warm: (seconds, batches) of the untimed first batches
    try:
        for epoch in range(epochs):
            model.train()
            start, total = time.perf_counter(), 0
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            correct = torch.zeros((), dtype=torch.long, device=device)
            for i, (x, y) in enumerate(batches(train_loader)):
                x, y = x.to(device), y.to(device)
                if layout:
                    x = x.contiguous(memory_format=torch.channels_last)
                with _autocast(precision, device):
                    loss, n_ok = train_step(model, x, y, optimizer, loss_fn)
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss.double() * len(y)
                correct += n_ok
                total += len(y)
                bar.update(1)
                if not estimated and i == min(WARM_BATCHES - 1, n_batches - 1):
                    warm = (time.perf_counter() - start, i + 1)  # the first batches set up the kernels
                if not estimated and i == min(WARM_BATCHES + ESTIMATE_BATCHES - 1, n_batches - 1):
                    spent, timed = time.perf_counter() - start, i + 1 - warm[1]
                    per_batch = (spent - warm[0]) / timed if timed else spent / (i + 1)
                    total_s = spent + per_batch * (epochs * n_batches - i - 1) * (
                        1.15 if test_loader is not None else 1.0)
                    line = records.estimate_line(total_s, f"에포크 {epochs} × 배치 {n_batches}, "
                                                          f"배치당 {per_batch * 1000:.0f} ms")
                    if line:  # a long run (or the first run of a long experiment): say how long first
                        bar.write(line)
                    estimated = True
            hist.seconds.append(time.perf_counter() - start)
            hist.train_loss.append(loss_sum.item() / max(total, 1))
            hist.train_acc.append(correct.item() / max(total, 1))
            post = {"epoch": f"{epoch + 1}/{epochs}", "loss": f"{hist.train_loss[-1]:.3f}",
                    "acc": f"{hist.train_acc[-1]:.3f}"}
            if test_loader is not None:
                with _autocast(precision, device):
                    tl, ta = evaluate(model, test_loader, loss_fn, device)
                hist.test_loss.append(tl)
                hist.test_acc.append(ta)
                post["test_acc"] = f"{ta:.3f}"
                if ta > best[0]:
                    best = (ta, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch + 1)
            if val_loader is not None:
                with _autocast(precision, device):
                    hist.val_acc.append(evaluate(model, val_loader, loss_fn, device)[1])
                post["val_acc"] = f"{hist.val_acc[-1]:.3f}"
                if hist.val_acc[-1] > best_val[0]:
                    best_val = (hist.val_acc[-1], {k: v.detach().clone() for k, v in model.state_dict().items()},
                                epoch + 1)
            bar.set_postfix(post)
            if patience is not None and epoch + 1 - best_val[2] >= patience:
                break  # validation has not improved for `patience` epochs
    except KeyboardInterrupt:
        bar.close()
        if layout:
            model.to(memory_format=torch.contiguous_format)
        done = len(hist.train_loss)
        if best[1] is not None:
            model.load_state_dict(best[1])
            print(f"⏹ 중단했습니다: 에포크 {done}/{epochs} 까지 학습했고, 가장 좋았던 모델"
                  f"(에포크 {best[2]}, 테스트 정확도 {100 * best[0]:.2f} %)을 유지합니다. 다음 셀은 그대로 실행됩니다.")
        else:
            print(f"⏹ 중단했습니다: 에포크 {done}/{epochs} 까지 학습한 모델로 계속합니다.")
        return hist
    bar.close()
    if layout:
        model.to(memory_format=torch.contiguous_format)
    if patience is not None:  # keep the best validation epoch's weights
        model.load_state_dict(best_val[1])
        hist.best_epoch = best_val[2]
    if inp is not None and records.writing():
        records.write(f"fit-{desc}", hist, inp, hist.train_time)
    return hist


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
