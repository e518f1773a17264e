"""chapter5.textbook: the book's chapter-5.2 models, data pipeline and loop, as printed."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from chapter5 import textbook, train

pytestmark = pytest.mark.filterwarnings("ignore:dropout2d")  # the book applies Dropout2d to flat vectors


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_models_have_the_books_shapes_and_sizes():
    x = torch.rand(3, 1, 28, 28)
    dnn, cnn = textbook.FashionDNN(), textbook.FashionCNN()
    assert tuple(dnn(x).shape) == (3, 10) and tuple(cnn(x).shape) == (3, 10)
    assert _count(dnn) == 235_146
    assert _count(cnn) == 1_475_338
    assert isinstance(dnn.drop, nn.Dropout2d) and isinstance(cnn.drop, nn.Dropout2d)  # as printed
    assert cnn.fc1.in_features == 64 * 6 * 6


def test_cnn_head_has_no_activation_between_its_linear_layers():
    torch.manual_seed(0)
    cnn = textbook.FashionCNN().eval()

    def head(z):
        return cnn.fc3(cnn.fc2(cnn.drop(cnn.fc1(z))))

    z = torch.randn(4, 64 * 6 * 6)
    with torch.no_grad():
        zero = head(torch.zeros_like(z))  # affine: head(2z) - head(0) == 2 (head(z) - head(0))
        torch.testing.assert_close(head(2 * z) - zero, 2 * (head(z) - zero), atol=1e-4, rtol=1e-4)
        x = torch.rand(2, 1, 28, 28)
        torch.testing.assert_close(cnn(x), head(cnn.layer2(cnn.layer1(x)).flatten(1)))


def test_dropout2d_on_a_flat_vector_acts_elementwise_like_the_book():
    torch.manual_seed(0)
    dnn = textbook.FashionDNN().train()
    out = dnn.drop(torch.ones(64, 256))
    zeros = (out == 0).float().mean().item()
    assert 0.15 < zeros < 0.35                      # about p = 0.25 of the elements, not whole rows
    assert not (out == 0).all(dim=1).any()


def test_loaders_are_the_books_pipeline():
    from chapter5 import data

    tr, te = textbook.loaders(train_limit=250, test_limit=120)
    assert tr.batch_size == te.batch_size == 100
    assert isinstance(tr.sampler, torch.utils.data.SequentialSampler)   # no shuffling
    assert len(tr.dataset) == 250 and len(te.dataset) == 120
    x, y = next(iter(tr))
    raw, labels = data.fashion_tensors(train=True, normalize=False, limit=100)
    torch.testing.assert_close(x, raw)               # ToTensor() only, no normalisation
    assert torch.equal(y, labels)


def _tiny_loaders(n_train=95, n_test=40, batch=10):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n_train + n_test, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    ds_tr = torch.utils.data.TensorDataset(x[:n_train], y[:n_train])
    ds_te = torch.utils.data.TensorDataset(x[n_train:], y[n_train:])
    return (torch.utils.data.DataLoader(ds_tr, batch_size=batch),
            torch.utils.data.DataLoader(ds_te, batch_size=batch))


def test_loop_tests_every_n_iterations_in_training_mode_and_reports_the_last():
    torch.manual_seed(0)
    model = textbook.FashionDNN()
    before = [p.detach().clone() for p in model.parameters()]
    tr, te = _tiny_loaders()                          # 10 batches per epoch, the last one has 5 images
    run = textbook.train(model, tr, te, epochs=2, eval_every=4, progress=False)
    assert run.iterations == [4, 8, 12, 16, 20]
    assert len(run.losses) == len(run.accuracies) == 5
    assert run.final_accuracy == run.accuracies[-1]
    assert all(0 <= a <= 100 for a in run.accuracies) and run.seconds > 0
    assert model.training, "the book never calls model.eval()"
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_eval_every_none_tests_once_at_the_end_and_partial_schedules_get_a_final_pass():
    tr, te = _tiny_loaders()
    run = textbook.train(textbook.FashionCNN(), tr, te, epochs=1, eval_every=None, progress=False)
    assert run.iterations == [10]
    run = textbook.train(textbook.FashionDNN(), tr, te, epochs=1, eval_every=4, progress=False)
    assert run.iterations == [4, 8, 10]


def test_book_accuracy_is_measured_in_whatever_mode_the_model_is_in():
    torch.manual_seed(0)
    model = textbook.FashionDNN()
    _, te = _tiny_loaders(n_test=200, batch=50)
    model.eval()
    eval_acc = textbook.accuracy_as_printed(model, te)
    assert not model.training                          # it does not switch modes itself
    assert eval_acc == pytest.approx(100 * train.evaluate(model, te)[1])
    model.train()
    accs = {textbook.accuracy_as_printed(model, te) for _ in range(5)}
    assert model.training and len(accs) > 1            # dropout on: the measurement itself is noisy


def test_print_every_prints_the_books_lines(capsys):
    tr, te = _tiny_loaders()
    textbook.train(textbook.FashionDNN(), tr, te, epochs=1, eval_every=5, print_every=5, progress=False)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration:")]
    assert len(lines) == 2 and "Loss:" in lines[0] and lines[0].endswith("%")


def test_test_false_leaves_batchnorm_statistics_for_an_eval_mode_measurement_first():
    """02 §4's fair order: with test=False the loop makes no final pass, so BatchNorm's running
    statistics are those of training; the book's training-mode pass then overwrites them."""
    torch.manual_seed(0)
    tr, te = _tiny_loaders()
    model = textbook.FashionCNN()
    run = textbook.train(model, tr, te, epochs=1, eval_every=None, progress=False, test=False)
    assert run.iterations == [] and run.final_accuracy != run.final_accuracy   # nan: no test pass
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    trained = bn.running_mean.clone()
    train.evaluate(model, te)                          # eval mode: statistics untouched
    assert torch.equal(bn.running_mean, trained)
    model.train()
    textbook.accuracy_as_printed(model, te)            # the book's way: test batches enter the statistics
    assert not torch.equal(bn.running_mean, trained)
