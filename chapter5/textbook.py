"""The textbook's own chapter-5.2 code (*딥러닝 파이토치 교과서* 5.2, FashionMNIST), as printed.

This module is the **baseline** of every fair comparison in notebook 02 (and of later
benchmarks): the book's two models, its data pipeline and its training loop with the
book's settings. It is deliberately *not* the course's code. The course's improved
versions are written out in ``notebooks/02_dnn_vs_cnn.ipynb``.
노트북 02 §2 에서 학습 단계의, §4 에서 교과서 평가 반복문의 전체 코드를 보여 줍니다
(the training step is first shown in full in notebooks/02_dnn_vs_cnn.ipynb, section 2; the
book's test loop in section 4).

What is kept exactly as printed (even where the course teaches otherwise):

* ``FashionDNN``: 784 → 256 → 128 → 10 with ``nn.Dropout2d(0.25)`` on a flat vector
  (PyTorch treats a 2-D input like ``nn.Dropout``, with a deprecation warning that we
  silence here);
* ``FashionCNN``: two conv → batch-norm → ReLU → max-pool blocks, then ``fc1 → drop →
  fc2 → fc3`` **without** activation functions between the fully connected layers;
* data: ``ToTensor()`` only (no normalisation), ``DataLoader(batch_size=100)`` without
  shuffling, for both train and test;
* training: ``Adam(lr=0.001)``, ``CrossEntropyLoss()``, 5 epochs, a test pass every
  50 iterations **in training mode** (the book never calls ``model.eval()`` nor uses
  ``torch.no_grad()``, so dropout stays on and batch norm uses the test batch's
  statistics); the accuracy the book reports is that of the last test pass.

Errata fixed only where the printed code would crash: ``images.view(100, 1, 28, 28)``
becomes ``images.view(-1, 1, 28, 28)`` (the book's version fails on a last batch smaller
than 100, e.g. on a subset); in ``FashionCNN.forward`` ``out.view(out.size(0), -1)`` becomes
``out.reshape(...)`` (the same on the book's contiguous tensors; ``view`` cannot flatten the
``channels_last`` tensors that ``train.fit`` uses with bf16, so ``fit`` would fall back to the
slower layout for the book's model); ``Variable(...)`` is left out (it returns its tensor
unchanged since PyTorch 0.4).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

LEARNING_RATE = 0.001
BATCH_SIZE = 100
EPOCHS = 5
EVAL_EVERY = 50  # iterations between two test passes
PRINT_EVERY = 500

# The book applies nn.Dropout2d to flat (N, features) tensors; PyTorch still runs it as an
# element-wise dropout but warns on every call. Same behaviour, no warning flood.
warnings.filterwarnings("ignore", message=r"dropout2d: Received a 2-D input")


class FashionDNN(nn.Module):
    """The book's fully connected network (784 → 256 → 128 → 10), as printed."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(in_features=784, out_features=256)
        self.drop = nn.Dropout2d(0.25)
        self.fc2 = nn.Linear(in_features=256, out_features=128)
        self.fc3 = nn.Linear(in_features=128, out_features=10)

    def forward(self, input_data):
        out = input_data.view(-1, 784)
        out = F.relu(self.fc1(out))
        out = self.drop(out)
        out = F.relu(self.fc2(out))
        out = self.fc3(out)
        return out


class FashionCNN(nn.Module):
    """The book's CNN, as printed: no activation between ``fc1``, ``fc2`` and ``fc3``."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.layer2 = nn.Sequential(
            nn.Conv2d(in_channels=32, out_channels=64, kernel_size=3),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc1 = nn.Linear(in_features=64 * 6 * 6, out_features=600)
        self.drop = nn.Dropout2d(0.25)
        self.fc2 = nn.Linear(in_features=600, out_features=120)
        self.fc3 = nn.Linear(in_features=120, out_features=10)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.reshape(out.size(0), -1)          # book: out.view(out.size(0), -1)
        out = self.fc1(out)
        out = self.drop(out)
        out = self.fc2(out)
        out = self.fc3(out)
        return out


def loaders(train_limit: int | None = None, test_limit: int | None = None, root=None,
            batch_size: int = BATCH_SIZE):
    """The book's ``(train_loader, test_loader)``: ``ToTensor()`` datasets, batch 100, no shuffle.

    ``train_limit`` / ``test_limit`` keep the first N images (quick mode and reduced
    experiments); ``None`` is the whole split, as in the book.
    """
    from torchvision import transforms

    from . import data

    out = []
    for train, limit in ((True, train_limit), (False, test_limit)):
        ds = data.fashion_mnist(train=train, transform=transforms.Compose([transforms.ToTensor()]), root=root)
        if limit is not None and limit < len(ds):
            ds = torch.utils.data.Subset(ds, range(limit))
        out.append(torch.utils.data.DataLoader(ds, batch_size=batch_size))
    return tuple(out)


@dataclass
class BookRun:
    """What the book's loop records: iteration, last batch loss and test accuracy (%) per test pass."""

    iterations: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    accuracies: list = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole loop, test passes included

    @property
    def final_accuracy(self) -> float:
        """The accuracy the book reports: that of the last test pass, in percent."""
        return self.accuracies[-1] if self.accuracies else float("nan")


def accuracy_as_printed(model, test_loader, device=None) -> float:
    """The book's test pass: accuracy in percent, **in whatever mode the model is in**
    (during the book's loop that is training mode) and with gradients recorded, as printed."""
    device = device or next(model.parameters()).device
    total = 0
    correct = 0
    for images, labels in test_loader:
        images, labels = images.to(device), labels.to(device)
        test = images.view(-1, 1, 28, 28)           # book: Variable(images.view(100, 1, 28, 28))
        outputs = model(test)
        predictions = torch.max(outputs, 1)[1].to(device)
        correct += (predictions == labels).sum()
        total += len(labels)
    return float(correct * 100 / total)


def train(model, train_loader, test_loader, *, epochs: int = EPOCHS, lr: float = LEARNING_RATE,
          eval_every: int | None = EVAL_EVERY, print_every: int | None = None, device=None,
          progress: bool = True, desc: str = "textbook", test: bool = True) -> BookRun:
    """The book's training loop: ``Adam(lr)``, ``CrossEntropyLoss``, ``epochs`` passes over
    ``train_loader`` and a :func:`accuracy_as_printed` (training mode) every ``eval_every`` iterations.

    ``eval_every=None`` tests only once, after the last iteration. The test pass does not
    change the weights, so this gives the same kind of final number at a fraction of the
    time (only the random dropout masks that follow differ). A final test pass is also
    added when the last iteration is not a multiple of ``eval_every``. ``print_every``
    prints the book's ``Iteration: …, Loss: …, Accuracy: …%`` lines (the book: 500).
    ``test=False`` (with ``eval_every=None``) skips that final pass, so that the same weights can be
    measured in eval mode *before* the book's training-mode pass refreshes BatchNorm's running
    statistics with test batches (notebooks/02_dnn_vs_cnn.ipynb, section 4).
    """
    from tqdm.auto import tqdm

    from .config import device as default_device

    device = device or default_device()
    model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    run = BookRun()
    count, accuracy, start = 0, float("nan"), time.perf_counter()
    bar = tqdm(total=epochs * len(train_loader), desc=desc, unit="it", disable=not progress)
    for _epoch in range(epochs):
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            train_x = images.view(-1, 1, 28, 28)    # book: Variable(images.view(100, 1, 28, 28))
            outputs = model(train_x)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            count += 1
            bar.update(1)
            if eval_every and not count % eval_every:
                accuracy = accuracy_as_printed(model, test_loader, device)
                run.iterations.append(count)
                run.losses.append(loss.item())
                run.accuracies.append(accuracy)
                bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{accuracy:.2f}")
            if print_every and not count % print_every:
                print(f"Iteration: {count}, Loss: {loss.item():.4f}, Accuracy: {accuracy:.2f}%")
    if test and (not run.iterations or run.iterations[-1] != count):
        run.iterations.append(count)
        run.losses.append(loss.item())
        run.accuracies.append(accuracy_as_printed(model, test_loader, device))
    bar.close()
    run.seconds = time.perf_counter() - start
    return run
