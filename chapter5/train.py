"""The one training loop of the course.

``fit`` trains any classifier on any pair of DataLoaders, shows a progress bar
(tqdm), uses CUDA when present, and returns a :class:`History` with loss and
accuracy per epoch for train and test. Notebooks show the training *step*
itself once (so students see ``zero_grad -> forward -> loss -> backward -> step``)
and then call ``fit`` for the long runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .config import device as default_device
from .config import seed_everything


@dataclass
class History:
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # training wall time per epoch (without evaluation)

    @property
    def train_time(self) -> float:
        return float(sum(self.seconds))

    @property
    def final_test_acc(self) -> float:
        return self.test_acc[-1] if self.test_acc else float("nan")

    def as_dict(self) -> dict:
        return {k: list(getattr(self, k)) for k in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")}


def train_step(model, x, y, optimizer, loss_fn):
    """One optimisation step; returns (loss, number correct)."""
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(logits, y)
    loss.backward()
    optimizer.step()
    return loss.detach(), (logits.argmax(1) == y).sum()


@torch.no_grad()
def evaluate(model, loader, loss_fn=None, device=None):
    """Mean loss and accuracy of ``model`` on ``loader``."""
    device = device or next(model.parameters()).device
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss_sum += loss_fn(logits, y).item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        total += len(y)
    return loss_sum / max(total, 1), correct / max(total, 1)


@torch.no_grad()
def predict(model, loader, device=None):
    """``(y_true, y_pred, probabilities)`` as CPU tensors for a whole loader."""
    device = device or next(model.parameters()).device
    model.eval()
    ys, preds, probs = [], [], []
    for x, y in loader:
        p = model(x.to(device)).softmax(1).cpu()
        ys.append(y)
        preds.append(p.argmax(1))
        probs.append(p)
    return torch.cat(ys), torch.cat(preds), torch.cat(probs)


def fit(model, train_loader, test_loader=None, *, epochs: int = 5, optimizer=None, lr: float = 1e-3,
        loss_fn=None, scheduler=None, device=None, seed: int | None = 0, desc: str = "train",
        progress: bool = True) -> History:
    """Train ``model`` for ``epochs`` and evaluate on ``test_loader`` after each epoch.

    ``optimizer`` defaults to Adam(lr); ``scheduler`` (if any) is stepped after every
    batch, which is what ``OneCycleLR`` expects.
    """
    from tqdm.auto import tqdm

    if seed is not None:
        seed_everything(seed)
    device = device or default_device()
    model.to(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if optimizer is None:
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    hist = History()
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress)
    for _ in bar:
        model.train()
        start, total, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            loss, n_ok = train_step(model, x, y, optimizer, loss_fn)
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.item() * len(y)
            correct += n_ok.item()
            total += len(y)
        hist.seconds.append(time.perf_counter() - start)
        hist.train_loss.append(loss_sum / max(total, 1))
        hist.train_acc.append(correct / max(total, 1))
        post = {"loss": f"{hist.train_loss[-1]:.3f}", "acc": f"{hist.train_acc[-1]:.3f}"}
        if test_loader is not None:
            tl, ta = evaluate(model, test_loader, loss_fn, device)
            hist.test_loss.append(tl)
            hist.test_acc.append(ta)
            post["test_acc"] = f"{ta:.3f}"
        bar.set_postfix(post)
    return hist


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
