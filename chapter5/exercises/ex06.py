"""Exercises of notebook 06 (graph convolutional networks): notebooks/06_gcn.ipynb."""
from __future__ import annotations

from .core import Incorrect, Exercise, as_shape, expect_close, expect_tensor, run
from .quiz import Quiz

# Small test graphs as edge lists (every undirected edge listed once) and their node counts.
_GRAPHS = [
    ([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)], 5),        # the notebook's small graph
    ([(0, 1), (1, 2), (2, 3)], 4),                          # a path
    ([(0, 1), (0, 2), (0, 3), (0, 4)], 6),                  # a star plus one isolated node (5)
]


def _torch():
    import torch

    return torch


def _adjacency(edges, n):
    torch = _torch()
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1.0
    return A


def _ctx():
    torch = _torch()
    return {"torch": torch}


# --------------------------------------------------------------------------- 06-1 degree vector

def _test_degrees(fn):
    torch = _torch()
    for edges, n in _GRAPHS:
        call = f"degrees({edges}, {n})"
        got = expect_tensor(run(fn, edges, n, what=call), call)
        if as_shape(got.shape, call) != (n,):
            raise Incorrect(f"{call}: 모양(shape)이 기대값 ({n},) 인데 {tuple(got.shape)} 입니다 "
                            "— 노드마다 숫자 하나인 1차원 텐서를 돌려주세요")
        want = _adjacency(edges, n).sum(1)
        got = got.float()
        one_way = torch.zeros(n)
        for i, _ in edges:
            one_way[i] += 1
        if torch.allclose(got, want + 1):
            raise Incorrect(f"{call}: {got.tolist()} — 자기 루프 (+1)는 넣지 않습니다. "
                            "여기서는 엣지 수만 세세요 (+1 은 A + I 에서 따로 더합니다)")
        if torch.allclose(got, one_way) and not torch.allclose(one_way, want):
            raise Incorrect(f"{call}: {got.tolist()} — 엣지 (i, j) 는 무방향이라 i 와 j 둘 다의 차수를 1 씩 "
                            "올려야 합니다 (한쪽 끝만 세었습니다)")
        expect_close(got, want, call, why="노드 i 의 차수 = i 가 끝점인 엣지의 수")


q1 = Exercise(
    "06-1", "엣지 목록에서 차수 벡터 만들기", "degrees", _test_degrees,
    hints=["엣지 (i, j) 하나는 노드 i 와 노드 j 의 차수를 각각 1 씩 올립니다 (무방향).",
           "엣지 하나마다 두 끝점의 차수에 각각 얼마를 더해야 할까요?",
           "deg[i] += 1\n        deg[j] += 1"],
    template='''def degrees(edges, n):
    """무방향 엣지 목록 edges (예: [(0, 1), (1, 2)]) 와 노드 수 n → 차수 벡터 [n]"""
    deg = torch.zeros(n)
    for i, j in edges:
        deg[i] += ____
        deg[j] += ____
    return deg''',
    solution='''def degrees(edges, n):
    """무방향 엣지 목록 edges (예: [(0, 1), (1, 2)]) 와 노드 수 n → 차수 벡터 [n]"""
    deg = torch.zeros(n)
    for i, j in edges:
        deg[i] += 1
        deg[j] += 1
    return deg''',
    wrong=[('''def degrees(edges, n):
    deg = torch.zeros(n)
    for i, j in edges:
        deg[i] += 1
    return deg''', "한쪽 끝만"),
           ('''def degrees(edges, n):
    deg = torch.ones(n)
    for i, j in edges:
        deg[i] += 1
        deg[j] += 1
    return deg''', "자기 루프"),
           ('''def degrees(edges, n):
    return torch.tensor(2.0 * len(edges))''', "모양")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 06-2 normalised adjacency

def _test_gcn_norm(fn):
    torch = _torch()
    for edges, n in _GRAPHS:
        call = f"gcn_norm({edges}, {n})"
        got = expect_tensor(run(fn, edges, n, what=call), call)
        A = _adjacency(edges, n)
        A_tilde = A + torch.eye(n)
        d = A_tilde.sum(1)
        want = A_tilde / torch.sqrt(d[:, None] * d[None, :])
        if tuple(got.shape) == (n, n):
            got = got.float()
            no_loops = A.sum(1)
            inv = torch.where(no_loops > 0, no_loops.rsqrt(), torch.zeros(n))
            if torch.allclose(got, inv[:, None] * A * inv[None, :], atol=1e-4):
                raise Incorrect(f"{call}: 대각선이 0 입니다 — A 에 단위 행렬 I 를 더해 자기 루프를 넣으세요 (Ã = A + I)")
            if torch.allclose(got, A_tilde / d[:, None], atol=1e-4):
                raise Incorrect(f"{call}: 행 정규화 D^-1 (A + I) 를 만들었습니다 — GCN 은 양쪽에서 "
                                "D^-1/2 를 곱하는 대칭 정규화입니다")
            if torch.allclose(got, A_tilde, atol=1e-4):
                raise Incorrect(f"{call}: 정규화하지 않은 A + I 입니다 — 양쪽에 D^-1/2 를 곱하세요")
            if not torch.allclose(got, got.T, atol=1e-5):
                raise Incorrect(f"{call}: 결과가 대칭이 아닙니다 — 엣지 (i, j) 마다 A[i, j] 와 A[j, i] 를 "
                                "모두 1 로 채웠는지 보세요")
        expect_close(got, want, call, why="Â = D^-1/2 (A + I) D^-1/2, D 는 A + I 의 행 합")


q2 = Exercise(
    "06-2", "엣지 목록에서 Â = D^-1/2 (A + I) D^-1/2", "gcn_norm", _test_gcn_norm,
    hints=["순서: 인접 행렬 A (양방향!) → A + I → 행 합 d → 양쪽에서 1/sqrt(d) 곱하기.",
           "D^-1/2 는 대각 행렬 torch.diag(d.pow(-0.5)) 입니다. 세 행렬을 @ 로 곱하세요.",
           "A_tilde = A + torch.eye(n)\n    d = A_tilde.sum(1)\n"
           "    D_inv_sqrt = torch.diag(d.pow(-0.5))\n    return D_inv_sqrt @ A_tilde @ D_inv_sqrt"],
    template='''def gcn_norm(edges, n):
    """무방향 엣지 목록 → 정규화된 인접 행렬 Â = D^-1/2 (A + I) D^-1/2  [n, n]"""
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    A_tilde = ____
    d = ____                         # A_tilde 의 행 합 (self-loop 포함 차수)
    D_inv_sqrt = torch.diag(d.pow(-0.5))
    return ____''',
    solution='''def gcn_norm(edges, n):
    """무방향 엣지 목록 → 정규화된 인접 행렬 Â = D^-1/2 (A + I) D^-1/2  [n, n]"""
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    A_tilde = A + torch.eye(n)
    d = A_tilde.sum(1)               # A_tilde 의 행 합 (self-loop 포함 차수)
    D_inv_sqrt = torch.diag(d.pow(-0.5))
    return D_inv_sqrt @ A_tilde @ D_inv_sqrt''',
    wrong=[('''def gcn_norm(edges, n):
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    A_tilde = A + torch.eye(n)
    d = A_tilde.sum(1)
    return torch.diag(1 / d) @ A_tilde''', "행 정규화"),
           ('''def gcn_norm(edges, n):
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    A_tilde = A + torch.eye(n)
    d = A_tilde.sum(1)
    return A_tilde''', "정규화하지 않은"),
           ('''def gcn_norm(edges, n):
    A = torch.zeros(n, n)
    for i, j in edges:
        A[i, j] = 1
    A_tilde = A + torch.eye(n)
    d = A_tilde.sum(1)
    D_inv_sqrt = torch.diag(d.pow(-0.5))
    return D_inv_sqrt @ A_tilde @ D_inv_sqrt''', "대칭이 아닙니다")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 06-3 one GCN layer

def _layer_inputs(seed: int):
    torch = _torch()
    g = torch.Generator().manual_seed(seed)
    edges, n = _GRAPHS[seed % len(_GRAPHS)]
    A = _adjacency(edges, n) + torch.eye(n)
    d = A.sum(1)
    A_hat = A / torch.sqrt(d[:, None] * d[None, :])
    X = torch.randn(n, 3, generator=g)
    W = torch.randn(3, 2, generator=g)
    b = torch.randn(2, generator=g)
    return A_hat, X, W, b


def _test_gcn_layer(fn):
    torch = _torch()
    for seed in range(3):
        A_hat, X, W, b = _layer_inputs(seed)
        n = X.shape[0]
        call = f"gcn_layer(A_hat [{n}, {n}], X [{n}, 3], W [3, 2], b [2])"
        got = expect_tensor(run(fn, A_hat, X, W, b, what=call), call)
        want = A_hat @ X @ W + b
        if tuple(got.shape) == (n, 2):
            if torch.allclose(got, X @ W + b, atol=1e-4):
                raise Incorrect(f"{call}: X W + b 입니다 — 이웃을 모으는 Â 를 곱하지 않았습니다")
            if torch.allclose(got, A_hat @ X @ W, atol=1e-4):
                raise Incorrect(f"{call}: 편향 b 가 빠졌습니다 — 노트북의 GCNLayer 는 Â X W 에 b 를 더합니다")
            if (want < 0).any() and torch.allclose(got, torch.relu(want), atol=1e-4):
                raise Incorrect(f"{call}: ReLU 를 적용했습니다 — GCNLayer 처럼 활성화 함수는 층 밖에서 씁니다")
        expect_close(got, want, call, why="GCNLayer 의 forward 와 같은 Â X W + b 를 계산하세요")


q3 = Exercise(
    "06-3", "GCN 층 하나를 행렬 곱으로", "gcn_layer", _test_gcn_layer,
    hints=["§3 의 GCNLayer.forward 를 행렬로 쓰면 Â (X W) + b 입니다.",
           "X 는 [n, 3], W 는 [3, 2] 이므로 X @ W 는 [n, 2]. 그 앞에 A_hat @ 을, 뒤에 + b 를 붙입니다.",
           "return A_hat @ X @ W + b"],
    template='''def gcn_layer(A_hat, X, W, b):
    """GCN 층 하나 (활성화 없이): Â [n,n], X [n,F_in], W [F_in,F_out], b [F_out]"""
    return ____''',
    solution='''def gcn_layer(A_hat, X, W, b):
    """GCN 층 하나 (활성화 없이): Â [n,n], X [n,F_in], W [F_in,F_out], b [F_out]"""
    return A_hat @ X @ W + b''',
    wrong=[('''def gcn_layer(A_hat, X, W, b):
    return X @ W + b''', "Â 를 곱하지"),
           ('''def gcn_layer(A_hat, X, W, b):
    return A_hat @ X @ W''', "편향 b"),
           ('''def gcn_layer(A_hat, X, W, b):
    return A_hat @ X @ W.T + b''', "gcn_layer")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 06-4 sum readout

def _test_sum_readout(fn):
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    cases = [([0, 0, 0, 1, 1], 2), ([0, 1, 1, 1, 2, 2], 3), ([1, 1, 2, 2, 2], 3)]   # the last: graph 0 is empty
    for batch_list, num_graphs in cases:
        batch = torch.tensor(batch_list)
        H = torch.randn(len(batch_list), 4, generator=g)
        call = f"sum_readout(H [{len(batch_list)}, 4], batch={batch_list}, num_graphs={num_graphs})"
        got = expect_tensor(run(fn, H, batch, num_graphs, what=call), call)
        want = torch.zeros(num_graphs, 4).index_add_(0, batch, H)
        if tuple(got.shape) == (4,):
            raise Incorrect(f"{call}: 모양이 (4,) 입니다 — 모든 노드를 한꺼번에 더했습니다. "
                            "batch 로 그래프마다 따로 더해야 [num_graphs, 4] 가 됩니다")
        if tuple(got.shape) == (num_graphs, 4):
            counts = torch.bincount(batch, minlength=num_graphs).clamp(min=1)
            if torch.allclose(got, want / counts[:, None], atol=1e-5):
                raise Incorrect(f"{call}: 평균 리드아웃입니다 — 노드 수로 나누지 말고 합만 구하세요")
        expect_close(got, want, call, why="행 g = batch 가 g 인 노드들의 H 를 더한 것")


q4 = Exercise(
    "06-4", "합 리드아웃 (sum readout)", "sum_readout", _test_sum_readout,
    hints=["mean_readout 에서 노드 수로 나누는 부분만 빼면 됩니다.",
           "torch.zeros(num_graphs, H.shape[1]).index_add_(0, batch, H) 는 batch[i] 번째 행에 H[i] 를 더합니다.",
           "return torch.zeros(num_graphs, H.shape[1]).index_add_(0, batch, H)"],
    template='''def sum_readout(H, batch, num_graphs):
    """그래프마다 노드 벡터를 더한다: H [노드 수, F], batch [노드 수] → [num_graphs, F]"""
    return ____''',
    solution='''def sum_readout(H, batch, num_graphs):
    """그래프마다 노드 벡터를 더한다: H [노드 수, F], batch [노드 수] → [num_graphs, F]"""
    return torch.zeros(num_graphs, H.shape[1]).index_add_(0, batch, H)''',
    wrong=[('''def sum_readout(H, batch, num_graphs):
    return H.sum(0)''', "한꺼번에"),
           ('''def sum_readout(H, batch, num_graphs):
    sums = torch.zeros(num_graphs, H.shape[1]).index_add_(0, batch, H)
    return sums / torch.bincount(batch, minlength=num_graphs).clamp(min=1)[:, None]''', "평균 리드아웃"),
           ('''def sum_readout(H, batch, num_graphs):
    return torch.zeros(num_graphs, H.shape[1]).index_add_(1, batch, H)''', "오류")],
    context=_ctx,
)

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("06")
