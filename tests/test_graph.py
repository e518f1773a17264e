"""GCN helpers of notebook 06, and the notebook's own GCN layers.

The GCN layers students read live in ``notebooks/06_gcn.ipynb``; these tests take
their definitions from the notebook cells (so the teaching copy is what is tested)
and compare them with the formula D^-1/2 (A + I) D^-1/2 X W computed independently
in NumPy.
"""
import functools
import random
import re
import warnings
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from chapter5 import graph, train, viz  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_gcn.ipynb"


NAMES = ("GCNLayer", "SparseGCNLayer", "mean_readout", "GraphClassifier")


@pytest.fixture(scope="module")
def nb_layers():
    """``GCNLayer``, ``SparseGCNLayer``, ``mean_readout`` and ``GraphClassifier`` exactly as
    defined in the notebook."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {"torch": torch, "nn": nn}
    found = set()
    for cell in nb.cells:
        lines = [ln for ln in cell.source.splitlines() if not ln.startswith("# NBVAL_")]
        source = "\n".join(lines).strip()
        for name in NAMES:
            header = f"class {name}(" if name[0].isupper() else f"def {name}("
            if cell.cell_type == "code" and source.startswith(header):
                exec(source.split("\n\n\n")[0], namespace)      # the definition only, up to the next one
                found.add(name)
    assert set(NAMES) <= found, f"notebook cells not found: {found}"
    return namespace


def numpy_gcn(A, X, W, b):
    """The GCN formula, written independently with NumPy."""
    A_tilde = A + np.eye(len(A))
    d = A_tilde.sum(1)
    D_inv_sqrt = np.diag(1.0 / np.sqrt(d))
    return D_inv_sqrt @ A_tilde @ D_inv_sqrt @ X @ W + b


def random_graph(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    return G, nx.to_numpy_array(G, nodelist=range(n))


GRAPHS = [(5, 0.5, 0), (12, 0.3, 1), (30, 0.1, 2), (8, 0.0, 3), (6, 1.0, 4)]


@pytest.mark.parametrize("n,p,seed", GRAPHS)
def test_dense_and_sparse_layers_equal_the_formula(nb_layers, n, p, seed):
    G, A = random_graph(n, p, seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    torch.manual_seed(seed)
    dense = nb_layers["GCNLayer"](4, 3)
    with torch.no_grad():
        dense.bias.normal_()
    W = dense.linear.weight.detach().numpy().T.astype(float)
    b = dense.bias.detach().numpy().astype(float)
    expected = numpy_gcn(A, X, W, b)

    Xt = torch.tensor(X, dtype=torch.float32)
    out_dense = dense(Xt, graph.normalized_adjacency(torch.tensor(A)))
    np.testing.assert_allclose(out_dense.detach().numpy(), expected, rtol=1e-4, atol=1e-5)

    out_torch_sparse = dense(Xt, graph.normalized_adjacency_sparse(graph.edge_index(G), n))
    np.testing.assert_allclose(out_torch_sparse.detach().numpy(), expected, rtol=1e-4, atol=1e-5)

    edge_layer = nb_layers["SparseGCNLayer"](4, 3)
    edge_layer.load_state_dict(dense.state_dict())
    out_edges = edge_layer(Xt, graph.edge_index(G))
    np.testing.assert_allclose(out_edges.detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_layer_is_not_trivially_equal(nb_layers):
    """The comparison above can fail: a plain (un-normalised) propagation differs."""
    G, A = random_graph(10, 0.4, 7)
    X = np.random.default_rng(0).normal(size=(10, 2))
    layer = nb_layers["GCNLayer"](2, 2)
    W = layer.linear.weight.detach().numpy().T
    out = layer(torch.tensor(X, dtype=torch.float32), graph.normalized_adjacency(torch.tensor(A))).detach().numpy()
    assert not np.allclose(out, (A + np.eye(10)) @ X @ W, atol=1e-3)


def test_layers_train_with_gradients(nb_layers):
    G, A = random_graph(15, 0.3, 5)
    layer = nb_layers["SparseGCNLayer"](3, 2)
    layer(torch.randn(15, 3), graph.edge_index(G)).pow(2).sum().backward()
    assert layer.linear.weight.grad is not None and layer.linear.weight.grad.abs().sum() > 0
    assert layer.bias.grad is not None


@pytest.mark.parametrize("n,p,seed", GRAPHS + [(40, 0.05, 9)])
def test_normalisation_symmetric_with_eigenvalues_in_unit_interval(n, p, seed):
    G, A = random_graph(n, p, seed)
    A_hat = graph.normalized_adjacency(torch.tensor(A)).double().numpy()
    np.testing.assert_allclose(A_hat, A_hat.T, atol=1e-7)
    eig = np.linalg.eigvalsh(A_hat)
    assert eig.min() >= -1 - 1e-6 and eig.max() <= 1 + 1e-6
    # the largest eigenvalue is exactly 1 (eigenvector D^1/2 1), once per connected component
    assert abs(eig.max() - 1) < 1e-5
    assert np.sum(np.isclose(eig, 1, atol=1e-5)) == nx.number_connected_components(G)
    # and it equals the sparse version
    sparse = graph.normalized_adjacency_sparse(graph.edge_index(G), n).to_dense().double().numpy()
    np.testing.assert_allclose(sparse, A_hat, atol=1e-6)


def test_normalisation_on_hand_example():
    A = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=torch.float32)   # path 0-1-2
    A_hat = graph.normalized_adjacency(A)
    # degrees with self-loops: 2, 3, 2
    assert torch.allclose(A_hat[0, 1], torch.tensor(1 / np.sqrt(6), dtype=torch.float32))
    assert torch.allclose(A_hat[1, 1], torch.tensor(1 / 3))
    assert A_hat[0, 2] == 0
    assert torch.allclose(graph.normalized_adjacency(A, self_loops=False)[0, 1], torch.tensor(1 / np.sqrt(2), dtype=torch.float32))


def _gcnconv():
    """PyG's GCNConv (torch_geometric is in the test extra: a missing install fails, never skips)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # torch.jit.script deprecation on import
        from torch_geometric.nn import GCNConv
    return GCNConv


def test_gcnconv_equality(nb_layers):
    G, A = random_graph(12, 0.3, 11)
    X = torch.randn(12, 4)
    layer = nb_layers["GCNLayer"](4, 3)
    with torch.no_grad():
        layer.bias.normal_()
    conv = _gcnconv()(4, 3)
    with torch.no_grad():
        conv.lin.weight.copy_(layer.linear.weight)
        conv.bias.copy_(layer.bias)
    ei = graph.edge_index(G)
    assert torch.allclose(conv(X, ei), layer(X, graph.normalized_adjacency(torch.tensor(A))), atol=1e-5)


def test_edge_index_lists_both_directions():
    ei = graph.edge_index(nx.Graph([(0, 1), (1, 2)]))
    assert ei.shape == (2, 4)
    assert {tuple(c) for c in ei.t().tolist()} == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert graph.edge_index(nx.empty_graph(3)).shape == (2, 0)


def test_aggregation_terms_match_row_of_a_hat_x():
    G = nx.Graph([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)])
    A = graph.adjacency(G)
    X = torch.arange(15, dtype=torch.float32).reshape(5, 3)
    A_hat_X = graph.normalized_adjacency(A) @ X
    for node in range(5):
        terms, result = graph.aggregation_terms(A, X, node)
        assert sorted(j for j, _, _ in terms) == sorted([node, *G.neighbors(node)])
        assert torch.allclose(result, A_hat_X[node])
        for j, c, _ in terms:
            assert c == pytest.approx(1 / np.sqrt((G.degree[node] + 1) * (G.degree[j] + 1)), rel=1e-5)
    text = graph.format_aggregation(A, X, 4)
    assert "노드 4" in text and "1/sqrt(2·3)" in text
    with pytest.raises(ValueError):
        graph.aggregation_terms(A, X, 5)


@pytest.mark.parametrize("k", range(5))
def test_receptive_field_is_k_hop_neighbourhood(k):
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    A = graph.adjacency(G)
    for node in (0, 14, 35):
        expected = sorted(nx.single_source_shortest_path_length(G, node, cutoff=k))
        assert graph.receptive_field(A, node, k) == expected
    # and it is exactly where the k-th power of Â is non-zero
    A_hat_k = torch.linalg.matrix_power(graph.normalized_adjacency(A).double(), k)
    assert graph.receptive_field(A, 14, k) == torch.nonzero(A_hat_k[14].abs() > 1e-12).flatten().tolist()


def test_karate_club():
    G, A, y = graph.karate_club()
    assert A.shape == (34, 34) and torch.equal(A, A.T) and A.sum() == 2 * 78
    assert set(A.unique().tolist()) == {0.0, 1.0}           # unweighted, even though networkx stores weights
    assert y[0] == 0 and y[33] == 1 and int(y.sum()) == 17


def test_graph_families_follow_their_rules():
    samples = graph.graph_families(per_family=15, seed=3)
    assert Counter(s.y for s in samples) == {i: 15 for i in range(5)}
    for s in samples:
        G, n = s.graph, s.graph.number_of_nodes()
        assert sorted(G.nodes) == list(range(n)) and nx.is_connected(G)
        assert s.x.shape == (n, 7) and torch.all(s.x.sum(1) == 1)
        assert torch.equal(s.x.argmax(1), torch.tensor([min(d, 6) for _, d in sorted(G.degree)]))
        family = graph.FAMILIES[s.y]
        degrees = sorted(d for _, d in G.degree)
        if family == "cycle":
            assert degrees == [2] * n
        elif family == "star":
            assert degrees == [1] * (n - 1) + [n - 1]
        elif family == "grid":
            assert max(degrees) <= 4 and G.number_of_edges() > n - 1
        elif family == "tree":
            assert nx.is_tree(G)
        else:
            assert 8 <= n <= 20
    # same seed, same data; other seed, other data
    again = graph.graph_families(per_family=15, seed=3)
    assert all(nx.utils.graphs_equal(a.graph, b.graph) for a, b in zip(samples, again))
    other = graph.graph_families(per_family=15, seed=4)
    assert not all(nx.utils.graphs_equal(a.graph, b.graph) for a, b in zip(samples, other))
    with pytest.raises(ValueError):
        graph.family_graph("hexagon", 6, random.Random(0))


def test_split_is_stratified_and_disjoint():
    samples = graph.graph_families(per_family=20, seed=0)
    tr, te = graph.split(samples, test_fraction=0.2, seed=0)
    assert len(tr) == 80 and len(te) == 20
    assert Counter(s.y for s in te) == {i: 4 for i in range(5)}
    assert not {id(s) for s in tr} & {id(s) for s in te}


def test_collate_packs_block_diagonal_batch():
    samples = graph.graph_families(per_family=2, seed=1)[::3]
    batch, y = graph.collate_graphs(samples)
    sizes = [s.graph.number_of_nodes() for s in samples]
    assert batch.num_graphs == len(samples) and batch.num_nodes == sum(sizes)
    assert y.tolist() == [s.y for s in samples]
    assert batch.batch.tolist() == [g for g, n in enumerate(sizes) for _ in range(n)]
    expected = torch.block_diag(*[graph.normalized_adjacency(graph.adjacency(s.graph)) for s in samples])
    assert torch.allclose(batch.adj.to_dense(), expected, atol=1e-6)
    assert torch.equal(batch.x, torch.cat([s.x for s in samples]))
    moved = batch.to("cpu")
    assert isinstance(moved, graph.GraphBatch) and moved.num_graphs == batch.num_graphs


def test_mean_readout_and_fit_on_graph_batches(nb_layers):
    samples = graph.graph_families(per_family=2, seed=1)
    batch, _ = graph.collate_graphs(samples[:3])
    H = torch.randn(batch.num_nodes, 4)
    pooled = nb_layers["mean_readout"](H, batch.batch, 3)
    for g in range(3):
        assert torch.allclose(pooled[g], H[batch.batch == g].mean(0), atol=1e-6)

    # the notebook's pipeline (GCN layers -> mean readout -> FC) learns star vs cycle with the shared fit
    GCNLayer, readout = nb_layers["GCNLayer"], nb_layers["mean_readout"]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gcn = GCNLayer(7, 8)
            self.fc = nn.Linear(8, 2)

        def forward(self, g):
            return self.fc(readout(torch.relu(self.gcn(g.x, g.adj)), g.batch, g.num_graphs))

    data = [s for s in graph.graph_families(per_family=20, seed=2) if s.y in (0, 1)]
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, collate_fn=graph.collate_graphs)
    hist = train.fit(Net(), loader, loader, epochs=15, lr=0.05, progress=False, device=torch.device("cpu"))
    assert hist.final_test_acc == 1.0


def test_example_graphs():
    mol = graph.caffeine()
    elements = Counter(nx.get_node_attributes(mol, "element").values())
    assert elements == {"C": 8, "N": 4, "O": 2} and mol.number_of_edges() == 15
    assert nx.cycle_basis(mol) and len(nx.cycle_basis(mol)) == 2            # one 6-ring and one 5-ring
    v, f = graph.icosahedron()
    assert v.shape == (12, 3) and f.shape == (20, 3)
    edges = {tuple(sorted(e)) for tri in f for e in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[0], tri[2]))}
    assert len(edges) == 30


def test_drawings_have_titles():
    viz.use_korean_font()
    G = nx.Graph([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)])
    X = torch.eye(5)[:, :3]
    fig = graph.plot_neighbourhood(G, X, 2)
    assert [ax.get_title() for ax in fig.axes][0].startswith("노드 2")
    fig = graph.show_matrices([("A", graph.adjacency(G)), ("X", X, {"fmt": "{:.0f}"})], suptitle="s")
    assert [ax.get_title() for ax in fig.axes] == ["A", "X"]
    ax = graph.plot_receptive_field(G, 0, 1)
    assert "3/5" in ax.get_title()
    ax = graph.plot_embedding(torch.randn(5, 2), [0, 0, 1, 1, 1], labelled=[0, 4], pred=[0, 1, 1, 1, 1])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    fig = graph.draw_graph_grid(graph.graph_families(per_family=1, seed=0), suptitle="t")
    assert fig._suptitle.get_text() == "t"
    plt.close("all")


def test_gcnconv_on_a_directed_edge_list_uses_in_degrees(nb_layers):
    """What notebook 06 §2.7 says: one-way edges -> (Aᵀ + I) normalised by in-degree + 1."""
    W = torch.tensor([[1.0, -1.0], [0.5, 0.5], [-1.0, 1.0]])
    text = "0-1, 0-2, 1-2, 2-3, 3-4"
    g = graph.own_graph(text, W, directed=True)
    assert not torch.allclose(g["A_hat"], g["A_hat"].T)
    assert g["deg"].tolist() == [1, 2, 3, 2, 2]               # incoming edges + 1
    layer = nb_layers["GCNLayer"](3, 2)
    conv = _gcnconv()(3, 2)
    with torch.no_grad():
        layer.linear.weight.copy_(W.T)
        conv.lin.weight.copy_(W.T)
        conv.bias.zero_()
    one_way = torch.tensor(g["edges"]).T
    assert torch.allclose(conv(g["X"], one_way), layer(g["X"], g["A_hat"]), atol=1e-6)
    # and the notebook's edge-list layer computes the same with the same one-way list
    edge_layer = nb_layers["SparseGCNLayer"](3, 2)
    edge_layer.load_state_dict(layer.state_dict())
    assert torch.allclose(edge_layer(g["X"], one_way), layer(g["X"], g["A_hat"]), atol=1e-6)
    # undirected: the usual symmetric Â, and H = ReLU(Â X W)
    u = graph.own_graph(text, W)
    assert torch.allclose(u["A_hat"], graph.normalized_adjacency(u["A"]))
    assert torch.allclose(u["H"], torch.relu(u["A_hat"] @ u["X"] @ W))


BAD_EDGE_LISTS = ["", "   ,  ", "0-1, 1-x", "a b", "0-0", "1.5-2", "0-1-2", "-1-2", "0-40", "0-99999999999999999999"]


@pytest.mark.parametrize("text", BAD_EDGE_LISTS)
def test_own_graph_rejects_bad_edge_lists_with_a_korean_message(text):
    W = torch.ones(3, 2)
    with pytest.raises(graph.EdgeListError) as err:
        graph.own_graph(text, W)
    message = str(err.value)
    assert re.search("[가-힣]", message) and "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("text,n,edges", [
    ("0-1, 1-2, 2-0", 3, [(0, 1), (1, 2), (2, 0)]),
    ("0 1\n1 2", 3, [(0, 1), (1, 2)]),
    ("(0, 1), (1, 3)", 4, [(0, 1), (1, 3)]),          # node 2 is isolated
    ("0->1; 0-1", 2, [(0, 1)]),                       # repeated pairs count once
])
def test_parse_edge_list(text, n, edges):
    assert graph.parse_edge_list(text) == (n, edges)


def test_no_graph_batch_is_the_identity():
    samples = graph.wiring_pairs(pairs=3, seed=0)
    batch, y = graph.collate_graphs(samples, use_edges=False)
    assert torch.equal(batch.adj.to_dense(), torch.eye(batch.num_nodes))
    with_edges, _ = graph.collate_graphs(samples)
    assert torch.equal(batch.x, with_edges.x) and torch.equal(batch.batch, with_edges.batch)


def test_wiring_pairs_differ_only_in_their_edges():
    samples = graph.wiring_pairs(pairs=40, seed=1)
    assert [s.y for s in samples] == [0, 1] * 40
    same_fraction = {0: [], 1: []}
    for a, b in zip(samples[::2], samples[1::2]):
        assert torch.equal(a.x, b.x) and a.x.shape[1] == 2
        assert a.graph.number_of_edges() == b.graph.number_of_edges()
        assert sorted(a.graph.nodes) == sorted(b.graph.nodes) == list(range(a.x.shape[0]))
        for s in (a, b):
            c = s.x.argmax(1).tolist()
            same_fraction[s.y].append(np.mean([c[u] == c[v] for u, v in s.graph.edges]))
    assert np.mean(same_fraction[0]) > 0.6 > 0.4 > np.mean(same_fraction[1])
    again = graph.wiring_pairs(pairs=40, seed=1)
    assert all(nx.utils.graphs_equal(s.graph, t.graph) for s, t in zip(samples, again))


def _notebook_trainer(nb_layers):
    """The notebook's ``graph_loaders`` and ``train_graph_model`` cells, run as they are."""
    import torch.nn.functional as F
    from chapter5 import config

    namespace = {"torch": torch, "nn": nn, "F": F, "np": np, "graph": graph, "train": train,
                 "config": config, "GraphClassifier": nb_layers["GraphClassifier"]}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for name in ("def graph_loaders(", "def train_graph_model("):
        cells = [c.source for c in nb.cells if c.cell_type == "code" and name in c.source]
        assert len(cells) == 1, f"notebook cell with {name!r} not found"
        exec(cells[0], namespace)
    return namespace["train_graph_model"]


def test_gcn_beats_the_no_graph_baseline_on_the_wiring_task(nb_layers):
    """The notebook's GraphClassifier and training loop, with and without edges, over 3 seeds
    at the notebook's quick-mode sizes: the GCN is clearly above the no-graph baseline."""
    train_graph_model = _notebook_trainer(nb_layers)
    data = graph.wiring_pairs(pairs=100, seed=0, p_same=0.7)
    tr, te = graph.split(data, test_fraction=0.2, seed=0)
    accs = {True: [], False: []}
    torch.set_num_threads(1)
    for seed in range(3):
        for use_edges in (True, False):
            _, hist, _ = train_graph_model(tr, te, seed, use_edges, epochs=20)
            accs[use_edges].append(hist.test_acc[-1])
    gcn, none = np.array(accs[True]), np.array(accs[False])
    assert np.all(none <= 0.6), none                      # the same X in both classes: chance
    assert gcn.min() >= none.max() + 0.15, (gcn, none)   # every seed, a clear margin
    assert gcn.mean() >= none.mean() + 0.25, (gcn, none)
    assert len(hist.train_loss) == len(hist.test_acc) == 20


def test_new_drawings_fit_a_slide():
    viz.use_korean_font()
    W = torch.tensor([[1.0, -1.0], [0.5, 0.5], [-1.0, 1.0]])
    for directed in (False, True):
        fig = graph.plot_own_graph(graph.own_graph("0-1, 1-2, 2-0, 2-3", W, directed=directed))
        assert [ax.get_title() for ax in fig.axes][-1] == "ReLU(Â X W)"
        assert fig.get_size_inches()[0] <= 11 and fig.get_size_inches()[1] <= 4.2
    fig = graph.draw_wiring_examples(graph.wiring_pairs(pairs=2, seed=0), pairs=2)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == list(graph.WIRING_NAMES) * 2
    ax = graph.plot_seed_comparison({"GCN": [90.0, 92.0], "no graph": [50.0, 50.0]}, "t", chance=50)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["GCN", "no graph"]
    assert any("91.0 ± 1.0" in t.get_text() for t in ax.texts)
    fig = graph.show_matrices([("A", torch.eye(12))] * 4)
    assert fig.get_size_inches()[0] <= 11
    plt.close("all")
