"""Exercises of notebook 06 (graph convolutional networks): notebooks/06_gcn.ipynb.

06-1 degree vector, 06-2 normalised adjacency, 06-3 one GCN layer, 06-4 sum readout, and a challenge
(``challenge``): a 2-layer GCN on a new small graph that must beat the same model without the graph.
"""
from __future__ import annotations

from .core import Exercise, Incorrect, LearnerError, allclose, as_tensor, expect_close, run
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


def _shape_error(err: LearnerError) -> bool:
    text = str(err)
    return any(s in text for s in ("cannot be multiplied", "must match the size", "size mismatch", "shapes"))


# --------------------------------------------------------------------------- 06-1 degree vector

def _test_degrees(fn):
    torch = _torch()
    for edges, n in _GRAPHS:
        call = f"degrees({edges}, {n})"
        try:
            got = as_tensor(run(fn, edges, n, what=call), call)
        except LearnerError as err:
            if "out of bounds" in str(err) or "out of range" in str(err):
                raise Incorrect(f"{call}: 노드 번호가 deg 의 길이를 넘었습니다 (IndexError) — deg 의 길이를 노드 수 n 으로 "
                                "만드세요 (엣지 수가 아니라)") from None
            raise
        want = _adjacency(edges, n).sum(1)
        if tuple(got.shape) != (n,):
            if got.dim() == 0 or got.numel() == 1:
                raise Incorrect(f"{call}: 숫자 하나 ({float(got.flatten()[0]):g}) 를 돌려주었습니다 — 노드마다 차수 하나, "
                                f"모양 ({n},) 의 1차원 텐서가 필요합니다")
            if tuple(got.shape) == (len(edges),):
                raise Incorrect(f"{call}: 길이가 엣지 수 ({len(edges)}) 입니다 — 차수 벡터의 길이는 노드 수 n 입니다")
            top = max(max(e) for e in edges) + 1
            if tuple(got.shape) == (top,) and top != n:
                raise Incorrect(f"{call}: 길이가 {top} 입니다 — 가장 큰 노드 번호로 길이를 정하면 엣지가 없는 노드가 빠집니다. "
                                "인자 n 을 쓰세요")
            raise Incorrect(f"{call}: 모양(shape)이 기대값 ({n},) 인데 {tuple(got.shape)} 입니다 — 노드마다 숫자 하나인 "
                            "1차원 텐서를 돌려주세요")
        one_way = torch.zeros(n, dtype=torch.float64)
        for i, _ in edges:
            one_way[i] += 1
        if allclose(got, want + 1):
            raise Incorrect(f"{call}: {got.tolist()} — 자기 루프 (+1) 까지 셌습니다. 여기서는 이웃 수 (A 의 행 합) 만 "
                            "셉니다. 자기 루프의 +1 은 Â 를 만들 때 A + I 에서 더합니다")
        if allclose(got, 2 * want):
            raise Incorrect(f"{call}: {got.tolist()} — 모두 정답의 두 배입니다: 무방향 엣지를 양방향으로 두 번 센 것 "
                            "같습니다. 엣지 목록에는 엣지마다 한 번씩 있고, 노드 i 의 행에는 이웃마다 1 이 한 번씩만 있습니다")
        if allclose(got, 2 * one_way) and not allclose(one_way, want):
            raise Incorrect(f"{call}: {got.tolist()} — 엣지의 한쪽 끝 i 만 두 번 올렸습니다. 두 번째 줄은 다른 끝점의 차수를 "
                            "올려야 합니다")
        if allclose(got, one_way) and not allclose(one_way, want):
            raise Incorrect(f"{call}: {got.tolist()} — 엣지 (i, j) 는 무방향이라 i 와 j 둘 다의 차수를 올려야 합니다 "
                            "(한쪽 끝만 세었습니다)")
        expect_close(got, want, call, why="노드 i 의 차수 = i 가 끝점인 엣지의 수")


q1 = Exercise(
    "06-1", "엣지 목록에서 차수 벡터 만들기", "degrees", _test_degrees,
    hints=["무방향 엣지 (i, j) 하나가 어느 노드의 이웃 수를 바꾸는지 생각해 보세요. 목록에는 엣지마다 한 번씩만 있습니다.",
           "엣지 하나는 두 끝점 각각에게 이웃 하나입니다. 자기 루프는 여기서 세지 않습니다 (그것은 A + I 의 일).",
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
    deg = torch.zeros(n)
    for i, j in edges:
        deg[i] += 2
        deg[j] += 2
    return deg''', "두 번 센"),
           ('''def degrees(edges, n):
    return torch.tensor(2.0 * len(edges))''', "숫자 하나")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 06-2 normalised adjacency

def _test_gcn_norm(fn):
    torch = _torch()
    for edges, n in _GRAPHS:
        call = f"gcn_norm({edges}, {n})"
        got = as_tensor(run(fn, edges, n, what=call), call)
        A = _adjacency(edges, n).double()
        I = torch.eye(n, dtype=torch.float64)
        A_tilde = A + I
        d = A_tilde.sum(1)
        Dm = torch.diag(d.rsqrt())
        want = Dm @ A_tilde @ Dm
        if tuple(got.shape) == (n, n) and not allclose(got, want):
            a_deg = A.sum(1)
            inv = torch.where(a_deg > 0, a_deg.rsqrt(), torch.zeros(n, dtype=torch.float64))
            one_way = torch.zeros(n, n, dtype=torch.float64)
            for i, j in edges:
                one_way[i, j] = 1.0
            ow_t = one_way + I
            ow_d = torch.diag(ow_t.sum(1).rsqrt())
            if allclose(got, inv[:, None] * A * inv[None, :]):
                raise Incorrect(f"{call}: 대각선이 0 입니다 — 자기 루프가 빠졌습니다: 노드가 자기 특성을 잃지 않도록 A 에 "
                                "무엇을 더했는지 보세요")
            if allclose(got, A_tilde / d[:, None]):
                raise Incorrect(f"{call}: 행 정규화 D^-1 (A + I) 를 만들었습니다 (행의 합이 1) — GCN 은 양쪽에서 D^-1/2 를 "
                                "곱하는 대칭 정규화입니다")
            if allclose(got, Dm @ A_tilde) or allclose(got, A_tilde @ Dm):
                raise Incorrect(f"{call}: D^-1/2 를 한쪽에만 곱했습니다 — 그래서 결과가 대칭이 아닙니다. 식에는 D^-1/2 가 "
                                "(A + I) 의 왼쪽과 오른쪽에 하나씩 있습니다")
            if allclose(got, A_tilde):
                raise Incorrect(f"{call}: 정규화하지 않은 A + I 입니다 — 양쪽에 D^-1/2 를 곱하세요")
            if allclose(got, torch.diag(d.sqrt()) @ A_tilde @ torch.diag(d.sqrt())):
                raise Incorrect(f"{call}: D^1/2 를 곱했습니다 (차수가 큰 노드의 값이 커짐) — 지수가 -1/2, 곧 1/sqrt(d) 입니다")
            if allclose(got, torch.diag(inv) @ A_tilde @ torch.diag(inv)) or \
                    (torch.isinf(got).any() and (a_deg == 0).any()):
                raise Incorrect(f"{call}: 차수를 A 에서 셌습니다 (자기 루프 없이) — 차수 d 는 A + I 의 행 합입니다. "
                                "엣지가 없는 노드도 그래야 0 으로 나누지 않습니다")
            plus_one = A + 1
            p1 = torch.diag(plus_one.sum(1).rsqrt())
            if allclose(got, A_tilde + 1 - I) or allclose(got, p1 @ plus_one @ p1):
                raise Incorrect(f"{call}: 모든 칸에 1 을 더했습니다 — A + 1 이 아니라 단위 행렬 (대각선만 1) 을 더합니다")
            if allclose(got, ow_d @ ow_t @ ow_d):
                raise Incorrect(f"{call}: 결과가 대칭이 아닙니다 — 엣지 (i, j) 마다 A[i, j] 와 A[j, i] 를 모두 1 로 "
                                "채웠는지 보세요 (무방향)")
            off = ~torch.eye(n, dtype=torch.bool)
            if (want[off] != 0).any() and allclose(got[off], torch.zeros_like(got[off])):
                raise Incorrect(f"{call}: 대각선 밖이 모두 0 입니다 — * 는 원소별 곱입니다. 행렬 곱은 @ 입니다")
        expect_close(got, want, call, why="Â = D^-1/2 (A + I) D^-1/2, D 는 A + I 의 행 합")


q2 = Exercise(
    "06-2", "엣지 목록에서 Â = D^-1/2 (A + I) D^-1/2", "gcn_norm", _test_gcn_norm,
    hints=["순서: 인접 행렬 A (양방향!) → 자기 루프 넣기 → 행 합으로 차수 d → 양쪽에서 1/sqrt(d) 곱하기.",
           "자기 루프는 단위 행렬 torch.eye(n) 을 더하는 것, d 는 그 행렬의 행 합 (.sum(1)) 입니다. D^-1/2 는 "
           "(A + I) 의 왼쪽과 오른쪽에 행렬 곱 @ 으로 곱합니다.",
           "A_tilde = A + torch.eye(n)\n    d = A_tilde.sum(1)\n    return D_inv_sqrt @ A_tilde @ D_inv_sqrt"],
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
        A[i, j] = A[j, i] = 1
    A_tilde = A + torch.eye(n)
    d = A_tilde.sum(1)
    D_inv_sqrt = torch.diag(d.pow(-0.5))
    return D_inv_sqrt @ A_tilde''', "한쪽에만"),
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
        try:
            got = as_tensor(run(fn, A_hat, X, W, b, what=call), call)
        except LearnerError as err:
            if "cannot be multiplied" in str(err):
                raise Incorrect(f"{call}: 행렬 곱의 모양이 맞지 않습니다 ({str(err).split(': ', 2)[-1][:80]}) — W 는 이미 "
                                "[F_in, F_out] 모양이라 전치 (.T) 하지 않습니다. 곱하는 순서 Â · X · W 도 보세요") from None
            if "must match the size" in str(err):
                raise Incorrect(f"{call}: 원소별 곱 (*) 을 썼습니다 — 모양이 다른 행렬을 곱하려면 행렬 곱 @ 입니다") from None
            raise
        want = A_hat @ X @ W + b
        if tuple(got.shape) == (2,):
            raise Incorrect(f"{call}: 모양이 (2,) 입니다 — 노드 축을 더해 버렸습니다. 층의 출력은 노드마다 한 행 [n, F_out] 입니다")
        if tuple(got.shape) == (n, 2) and not allclose(got, want):
            if allclose(got, X @ W + b):
                raise Incorrect(f"{call}: X W + b 입니다 — 이웃의 특성을 모으는 행렬을 곱하지 않았습니다")
            if allclose(got, A_hat @ X @ W):
                raise Incorrect(f"{call}: 편향 b 가 빠졌습니다 — 노트북의 GCNLayer 는 Â X W 에 b 를 더합니다")
            if (want < 0).any() and allclose(got, torch.relu(want)):
                raise Incorrect(f"{call}: ReLU 를 적용했습니다 — GCNLayer 처럼 활성화 함수는 층 밖에서 씁니다")
            if allclose(got, A_hat @ (X @ W + b)):
                raise Incorrect(f"{call}: b 를 Â 를 곱하기 전에 더했습니다 — 그러면 b 도 이웃 수에 따라 섞입니다. b 는 맨 끝에 "
                                "더합니다")
            if allclose(got, A_hat @ X @ W * b):
                raise Incorrect(f"{call}: b 를 곱했습니다 — 편향은 더합니다")
        expect_close(got, want, call, why="GCNLayer 의 forward 와 같은 Â X W + b 를 계산하세요")


q3 = Exercise(
    "06-3", "GCN 층 하나를 행렬 곱으로", "gcn_layer", _test_gcn_layer,
    hints=["§3 의 GCNLayer.forward 를 행렬 곱으로만 쓰면 됩니다: 가중치 곱하기, 이웃 모으기, 편향 더하기.",
           "X 는 [n, 3], W 는 [3, 2] 이므로 X @ W 는 [n, 2]. 이웃을 모으는 [n, n] 행렬은 왼쪽에서 곱하고, 편향은 맨 끝에.",
           "return A_hat @ X @ W + b"],
    template='''def gcn_layer(A_hat, X, W, b):
    """GCN 층 하나 (활성화 없이): Â [n,n], X [n,F_in], W [F_in,F_out], b [F_out]"""
    return ____''',
    solution='''def gcn_layer(A_hat, X, W, b):
    """GCN 층 하나 (활성화 없이): Â [n,n], X [n,F_in], W [F_in,F_out], b [F_out]"""
    return A_hat @ X @ W + b''',
    wrong=[('''def gcn_layer(A_hat, X, W, b):
    return X @ W + b''', "이웃의 특성을 모으는"),
           ('''def gcn_layer(A_hat, X, W, b):
    return A_hat @ X @ W''', "편향 b"),
           ('''def gcn_layer(A_hat, X, W, b):
    return A_hat @ X @ W.T + b''', "전치")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 06-4 sum readout

_READOUT_CASES = [([0, 0, 0, 1, 1], 2), ([0, 1, 1, 1, 2, 2], 3),
                  ([1, 1, 2, 2, 2], 3),                      # graph 0 has no nodes
                  ([0, 0, 1], 3)]                            # the last graph has no nodes


def _test_sum_readout(fn):
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    for batch_list, num_graphs in _READOUT_CASES:
        batch = torch.tensor(batch_list)
        H = torch.randn(len(batch_list), 4, generator=g)
        call = f"sum_readout(H [{len(batch_list)}, 4], batch={batch_list}, num_graphs={num_graphs})"
        try:
            got = as_tensor(run(fn, H, batch, num_graphs, what=call), call)
        except LearnerError as err:
            if "index" in str(err).lower() and "out of" in str(err).lower() or "out of range" in str(err):
                raise Incorrect(f"{call}: 인덱스가 범위를 벗어났습니다 — 노드가 하나도 없는 그래프가 있으면 batch 에 나오는 "
                                "번호의 수와 num_graphs 가 다릅니다. 결과의 행 수는 num_graphs 로 정하세요") from None
            raise
        want = torch.zeros(num_graphs, 4).index_add_(0, batch, H)
        present = sorted(set(batch_list))
        if tuple(got.shape) == (4,):
            raise Incorrect(f"{call}: 모양이 (4,) 입니다 — 모든 노드를 한꺼번에 더했습니다. batch 로 그래프마다 따로 더해야 "
                            "[num_graphs, 4] 가 됩니다")
        if tuple(got.shape) == (4, num_graphs) and num_graphs != 4:
            raise Incorrect(f"{call}: 모양이 {tuple(got.shape)} 입니다 — 행과 열이 바뀌었습니다 (전치). 그래프마다 한 행, "
                            "[num_graphs, F] 입니다")
        if tuple(got.shape) in ((len(present), 4), (max(batch_list) + 1, 4)) and len(got) != num_graphs:
            raise Incorrect(f"{call}: 행이 {len(got)}개입니다 — 노드가 없는 (빈) 그래프의 행이 빠졌습니다. 행 수는 batch 에 "
                            "나온 번호가 아니라 num_graphs 로 정합니다 (빈 그래프의 합은 0)")
        if tuple(got.shape) == (num_graphs, 4) and not allclose(got, want, atol=1e-5):
            counts = torch.bincount(batch, minlength=num_graphs).clamp(min=1)
            if allclose(got, want / counts[:, None], atol=1e-5):
                raise Incorrect(f"{call}: 평균 리드아웃입니다 — 노드 수로 나누지 말고 합만 구하세요")
            maxes = torch.stack([H[batch == k].amax(0) if (batch == k).any() else torch.zeros(4)
                                 for k in range(num_graphs)])
            if allclose(got, maxes, atol=1e-5):
                raise Incorrect(f"{call}: 최댓값 리드아웃입니다 — 그래프마다 노드 벡터를 더하세요")
            rows = {tuple(round(v, 4) for v in r) for r in H.tolist()}
            if all(tuple(round(v, 4) for v in r) in rows for r, k in zip(got.tolist(), range(num_graphs))
                   if k in present):
                raise Incorrect(f"{call}: 그래프마다 노드 하나의 값만 남았습니다 — 더하지 않고 덮어썼습니다 "
                                "(index_copy_ / 대입). 같은 번호에 쌓아 더하는 연산을 쓰세요")
        expect_close(got, want, call, why="행 g = batch 가 g 인 노드들의 H 를 더한 것")


q4 = Exercise(
    "06-4", "합 리드아웃 (sum readout)", "sum_readout", _test_sum_readout,
    hints=["mean_readout 에서 노드 수로 나누는 부분만 빼면 됩니다. 노드가 하나도 없는 그래프의 행도 (0 으로) 있어야 합니다.",
           "torch.zeros(num_graphs, H.shape[1]) 에서 시작해 batch[i] 번째 행에 H[i] 를 더하는 연산은 index_add_ 입니다.",
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
    return torch.stack([H[batch == g].sum(0) for g in batch.unique()])''', "빈) 그래프")],
    context=_ctx,
)


# ------------------------------------------------------------ challenge: a 2-layer GCN that beats the baseline

class _GCNLayer:
    """The notebook's GCNLayer (§3), for running reference code outside the notebook."""

    @staticmethod
    def make():
        torch = _torch()
        from torch import nn

        class GCNLayer(nn.Module):
            """One graph convolution: H' = Â H W + b (Kipf & Welling, 2017)."""

            def __init__(self, in_features, out_features):
                super().__init__()
                self.linear = nn.Linear(in_features, out_features, bias=False)
                self.bias = nn.Parameter(torch.zeros(out_features))

            def forward(self, H, A_hat):
                return A_hat @ self.linear(H) + self.bias

        return GCNLayer


def challenge_graph():
    """The challenge's graph: two friend groups of 14 (dense inside, a few links between), node
    features one-hot (they say nothing about the group), 2 labelled nodes per group.

    Returns ``dict(edges, n, X, y, train_idx, A_hat)`` (``A_hat`` = D^-1/2 (A + I) D^-1/2)."""
    import random

    torch = _torch()
    rng = random.Random(5)
    n, half = 28, 14
    y = torch.tensor([0] * half + [1] * half)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)
             if rng.random() < (0.3 if (i < half) == (j < half) else 0.04)]
    A = _adjacency(edges, n) + torch.eye(n)
    d = A.sum(1)
    return {"edges": edges, "n": n, "X": torch.eye(n), "y": y, "train_idx": torch.tensor([0, 1, 14, 15]),
            "A_hat": A / torch.sqrt(d[:, None] * d[None, :])}


def _fit_accuracy(cls, g, A_hat, seed, steps=100):
    """Train ``cls(n, 16, 2)`` full batch on the labelled nodes (one CPU thread: tiny matrices run
    fastest that way, also on a busy machine); accuracy on the others."""
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(cls, g, A_hat, seed, steps)
    finally:
        torch.set_num_threads(threads)


def _fit(cls, g, A_hat, seed, steps):
    torch = _torch()
    torch.manual_seed(seed)
    model = cls(g["X"].shape[1], 16, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    tr = g["train_idx"]
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(g["X"], A_hat)[tr], g["y"][tr])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(g["X"], A_hat).argmax(1)
    rest = torch.ones(len(g["y"]), dtype=torch.bool)
    rest[tr] = False
    return float((pred[rest] == g["y"][rest]).float().mean())


def _hops(A, src):
    """Shortest-path hop counts from ``src`` (BFS on the 0/1 adjacency)."""
    n = A.shape[0]
    dist, frontier = {src: 0}, [src]
    while frontier:
        nxt = []
        for u in frontier:
            for v in A[u].nonzero().flatten().tolist():
                if v not in dist:
                    dist[v] = dist[u] + 1
                    nxt.append(v)
        frontier = nxt
    return [dist.get(i, n + 1) for i in range(n)]


def _test_two_layer_gcn(cls):
    torch = _torch()
    from torch import nn

    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise Incorrect(f"TwoLayerGCN 은 nn.Module 을 상속한 클래스여야 하는데 {type(cls).__name__} 입니다")
    path_edges, n = [(i, i + 1) for i in range(7)], 8           # a path: hop counts are plain
    A = _adjacency(path_edges, n)
    At = A + torch.eye(n)
    d = At.sum(1)
    A_hat = At / torch.sqrt(d[:, None] * d[None, :])
    torch.manual_seed(0)
    model = run(cls, 5, 6, 2, what="TwoLayerGCN(5, 6, 2)")
    if not list(model.parameters()):
        raise Incorrect("TwoLayerGCN(5, 6, 2) 에 학습할 파라미터가 없습니다 — 층을 평범한 list 에 담으면 nn.Module 이 찾지 "
                        "못합니다. self.gc1 = … 처럼 속성으로 두거나 nn.ModuleList 를 쓰세요")
    X = torch.randn(n, 5)
    call = "model(X [8, 5], A_hat [8, 8])  # model = TwoLayerGCN(5, 6, 2), 8개 노드의 경로 그래프"
    model.eval()
    with torch.no_grad():
        try:
            out = run(model, X, A_hat, what=call)
        except LearnerError as err:
            if _shape_error(err):
                raise Incorrect(f"{call}: 모양이 맞지 않습니다 ({str(err).split(': ', 2)[-1][:90]}) — 첫 층은 "
                                "in_features → hidden, 둘째 층은 hidden → n_classes 입니다") from None
            raise
        out = as_tensor(out, call)
        if tuple(out.shape) == (n, 6):
            raise Incorrect(f"{call}: 모양이 (8, 6) 입니다 — hidden 크기에서 끝났습니다. 둘째 층이 클래스 수 (n_classes) 로 "
                            "보내야 점수 [n, 클래스 수] 가 됩니다")
        if tuple(out.shape) != (n, 2):
            raise Incorrect(f"{call}: 모양이 {tuple(out.shape)} 입니다 — 노드마다 클래스 점수, [8, 2] 가 필요합니다")
        if allclose(out, as_tensor(model(X, torch.eye(n)), "I")):
            raise Incorrect(f"{call}: A_hat 을 바꿔도 (단위 행렬 I 로) 출력이 같습니다 — forward 가 인자 A_hat 을 쓰지 "
                            "않습니다 (노트북의 다른 변수를 쓰지 않았는지 보세요)")
        if allclose(out.sum(1), torch.ones(n, dtype=torch.float64), atol=1e-5) and (out >= 0).all():
            raise Incorrect(f"{call}: 각 행의 합이 1 입니다 (softmax) — CrossEntropyLoss 가 softmax 를 하므로 모델은 "
                            "점수 (logit) 를 그대로 돌려줍니다")
        outs = [as_tensor(model(torch.randn(n, 5) * 3, A_hat), call) for _ in range(3)]
        if all((o >= 0).all() for o in [out, *outs]):
            raise Incorrect(f"{call}: 점수가 모두 0 이상입니다 — 마지막 층 뒤에 ReLU 를 썼습니다. ReLU 는 두 층 사이에만")
        X1, X2 = torch.randn(n, 5), torch.randn(n, 5)
        f = lambda Z: as_tensor(model(Z, A_hat), call)                      # noqa: E731
        if allclose(f(X1 + X2) - f(X2), f(X1) - f(torch.zeros(n, 5)), atol=1e-5):
            raise Incorrect(f"{call}: 모델이 X 에 대해 선형입니다 — 두 층 사이의 ReLU 가 빠져서 두 층이 한 층과 같습니다")
        hops = _hops(A, 0)
        reach = []
        for k in (1, 2, 3):
            far = hops.index(k)
            Xp = X.clone()
            Xp[far] += 5.0
            reach.append(not allclose(f(Xp)[0], out[0], atol=1e-6))
    if not reach[0]:
        raise Incorrect(f"{call}: 노드 0 의 점수가 바로 옆 이웃의 특성에도 반응하지 않습니다 — 층에서 A_hat 을 곱했는지 보세요")
    if not reach[1]:
        raise Incorrect(f"{call}: 노드 0 의 점수가 두 걸음 (2-hop) 떨어진 노드에 반응하지 않습니다 — Â 를 한 번만 곱했습니다. "
                        "GCN 층 두 개가 각각 Â 를 곱해야 2-hop 까지 봅니다")
    if reach[2]:
        raise Incorrect(f"{call}: 노드 0 의 점수가 세 걸음 (3-hop) 떨어진 노드에도 반응합니다 — Â 를 세 번 이상 곱했습니다. "
                        "GCN 층은 두 개입니다")
    g = challenge_graph()
    eye = torch.eye(g["n"])
    gcn = [_fit_accuracy(cls, g, g["A_hat"], s) for s in range(2)]
    base = [_fit_accuracy(cls, g, eye, s) for s in range(2)]
    m_gcn, m_base = sum(gcn) / 2, sum(base) / 2
    if m_gcn < m_base + 0.2 or m_gcn < 0.8:
        raise Incorrect(f"challenge_graph() 에서 라벨 없는 노드의 정확도 (시드 2개 평균) 가 GCN {m_gcn:.0%}, 그래프 없는 기준선 "
                        f"(Â = I) {m_base:.0%} 입니다 — GCN 이 기준선보다 20 %p 넘게, 80 % 이상이어야 합니다. 두 층이 모두 "
                        "학습되는지 (파라미터가 nn.Module 안에 등록되었는지) 보세요")


challenge = Exercise(
    "06-C", "새 그래프에서 2층 GCN 이 기준선 (그래프 없음) 을 이기기", "TwoLayerGCN", _test_two_layer_gcn,
    hints=["4절의 KarateGCN 처럼 GCN 층 두 개를 쌓습니다: 첫 층 → ReLU → 둘째 층. 둘째 층의 출력이 클래스 점수입니다 "
           "(softmax 는 손실 함수가 합니다).",
           "첫 층은 in_features → hidden, 둘째 층은 hidden → n_classes. forward 의 두 층 모두 인자로 받은 A_hat 을 씁니다: "
           "층이 두 개라 노드마다 2-hop 이웃까지 봅니다.",
           "self.gc2 = GCNLayer(hidden, n_classes) · H = torch.relu(self.gc1(X, A_hat)) · return self.gc2(H, A_hat)"],
    template='''class TwoLayerGCN(nn.Module):
    """GCN 층 두 개: ReLU(Â X W1 + b1) → Â H W2 + b2  (노드마다 클래스 점수 [n, n_classes])"""

    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.gc1 = GCNLayer(in_features, hidden)
        self.gc2 = ____

    def forward(self, X, A_hat):
        H = ____
        return ____''',
    solution='''class TwoLayerGCN(nn.Module):
    """GCN 층 두 개: ReLU(Â X W1 + b1) → Â H W2 + b2  (노드마다 클래스 점수 [n, n_classes])"""

    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.gc1 = GCNLayer(in_features, hidden)
        self.gc2 = GCNLayer(hidden, n_classes)

    def forward(self, X, A_hat):
        H = torch.relu(self.gc1(X, A_hat))
        return self.gc2(H, A_hat)''',
    wrong=[('''class TwoLayerGCN(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.gc1 = GCNLayer(in_features, hidden)
        self.gc2 = GCNLayer(hidden, n_classes)

    def forward(self, X, A_hat):
        return self.gc2(self.gc1(X, A_hat), A_hat)''', "선형"),
           ('''class TwoLayerGCN(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.gc1 = GCNLayer(in_features, hidden)
        self.gc2 = nn.Linear(hidden, n_classes)

    def forward(self, X, A_hat):
        return self.gc2(torch.relu(self.gc1(X, A_hat)))''', "2-hop")],
    context=lambda: {**_ctx(), "nn": __import__("torch").nn, "GCNLayer": _GCNLayer.make()},
    time_limit=20.0,
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("06")
