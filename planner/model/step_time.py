"""Training time of a run under a parallel layout: compute, unhidden communication, bubble.

Per device, over the whole run (all arrays (R, K): runs × layouts):
- compute = matrix multiplies at peak × the device's achievable matmul share × the share of it
  a whole step's kernels reach (``kernel_efficiency``, fitted per generation) × a matrix-size
  factor h/tp ÷ (h/tp + m0) (small sharded matrices run below peak; Narayanan et al. 2021,
  arXiv:2104.04473, Figure 7 shows throughput falling with smaller per-GPU hidden sizes), FP8
  running the linear layers at the FP8 peak × ``fp8_matmul_efficiency`` (fitted) and attention
  at bf16 (NVIDIA Transformer Engine keeps attention in 16-bit), plus the memory-bound
  element-wise work (norms, activations, dropout, optimizer), c_e bytes per token, layer and
  hidden unit over memory bandwidth, and for unfused attention kernels the score matrices
  too (5·a·T beside 34·h stored bytes, Korthikanti et al. 2022, Table 2); fused kernels
  (FlashAttention) skip masked blocks and recompute the scores in the backward pass; FP8
  runs also cast every linear layer's inputs and output gradients to FP8 (16·h values a
  token and layer, 4 bytes each: ``FP8_CAST_BYTES``);
- tensor parallelism: 4 all-reduces of the layer activations per layer and token (6 with full
  recomputation) on the intra-node link (Shoeybi et al. 2019, arXiv:1909.08053, Figure 4;
  Narayanan et al. 2021, section 3.2), not hidden by Megatron-LM's 2021 code, hidden behind
  the GEMMs (up to the compute time) by stacks that overlap them (``tp_overlap``: Transformer
  Engine's userbuffers, PyTorch Async TP);
- pipeline: activations sent forward and gradients back at each stage boundary (× v chunks,
  ÷ tp: each tensor-parallel rank sends its share; Narayanan et al. 2021, section 4.1);
  the 1F1B bubble (pp − 1)/(v·m) of the per-step work (Narayanan et al. 2021, section 2.2;
  v > 1, the interleaved schedule, runs micro-batches in groups of pp: m a multiple of pp);
- data parallelism: gradient reduce-scatter + parameter all-gather, 2Ψ per step (1.5× with
  ZeRO-3; Rajbhandari et al. 2020, arXiv:1910.02054, section 7), over the inter-node bandwidth
  of the NICs a data-parallel group's ranks on a node share (``data_parallel_bandwidth``) once
  the group spans nodes; overlapped with the backward pass of the step's last micro-batch
  (ZeRO-1/2) or, prefetched layer by layer, with the whole step's compute (ZeRO-3 / FSDP:
  Zhao et al. 2023, arXiv:2304.11277, section 3.3);
- expert parallelism: dispatch and combine all-to-alls in the forward and backward pass
  (4 per MoE layer) of top-k token copies (Lepikhin et al. 2020, GShard, arXiv:2006.16668),
  hidden behind compute up to the compute time only under DeepSeek-V3's DualPipe schedule
  (DeepSeek-AI 2024, arXiv:2412.19437, section 3.2.1); a 1F1B schedule waits for them.
- mixture-of-experts layers (all layers of an MoE model, as for its all-to-alls): the router's
  logits matmul, 6·h·E FLOPs per token (forward 2, backward 4) at the bf16 peak, and memory-
  bound work at the device's memory bandwidth: the token permutation before the experts and
  the unpermutation after them, each reading and writing the k routed copies of a token
  (k·h bf16 values), forward and backward, twice each when the tokens cross expert-parallel
  ranks to a rank holding several experts (Megatron-Core's MoEAlltoAllTokenDispatcher:
  permutation 1 before the all-to-all, permutation 2 sorting the received chunks by local
  expert after it; the combine undoes both), and the router's fp32 logits and scores (E per
  token, written and read forward and backward).
- routed expert GEMMs (``expert_gemm_seconds``, MoE rows only): each expert's two matrices
  (gate+up h × 2f, down f × h; f the expert FFN width, expert parameters ÷ (3·h·L·E)) run
  three GEMMs each (forward, input gradient, weight gradient) whose reduction dimension K is
  h or f (÷ tp) or, for the weight gradient, the tokens an expert receives per micro-batch
  (ep·T·k ÷ (tp·E)). A GEMM's rate falls with its K: DeepSeek-AI's DeepGEMM README (H800
  SXM5, FP8 1×128/128×128 blockwise, commit before 55ab91f, 2025-03) measures 590 TFLOPS at
  K 512, 990 at K 1536, 1,025-1,099 at K 2048, 1,288-1,304 at K 7168 and 1,358 at K 16384
  (M ≥ 4,096, N ≥ 4,096; grouped GEMMs of 4,096-8,192 tokens per expert at the rate of dense
  ones of the same N and K). FP8 expert GEMMs on Hopper run at that measured share of the
  FP8 peak (interpolated in log K; the measurement replaces the achievable-matmul share, the
  matrix-size factor and ``fp8_matmul_efficiency``) × ``kernel_efficiency``; elsewhere (BF16,
  or devices without such a measurement) at the dense chain with the matrix-size factor of
  each GEMM's own K instead of h/tp.
Ring collectives move 2(g − 1)/g of the buffer per device (all-reduce), (g − 1)/g for each of
reduce-scatter / all-gather / all-to-all (Thakur et al. 2005, Optimization of Collective
Communication Operations in MPICH). Links run at a share of their peak (``network_efficiency``).
Uneven pipeline stages (``parallelism.stage_layers``): the busiest stage's layers set the pace,
so the layer work, its tensor-parallel and expert traffic and its parameters' gradients scale
by that stage's share of the layers rather than 1/pp.
The constants live in ``profiles/performance.yaml`` with the cases they were fitted on.
"""

from __future__ import annotations

import numpy as np

from planner.model.parallelism import stage_layers as busiest_stage_layers

BYTES_BF16 = 2.0
FP8_A2A_BYTES = 1.5  # mean of FP8 dispatch and BF16 combine (DeepSeek-V3, section 3.3.4)
# DualPipe overlaps the all-to-alls with computation by giving 20 of the H800's 132 SMs to
# communication (DeepSeek-V3, section 3.2.2): the computation runs on the rest.
DUALPIPE_COMPUTE_SHARE = 112.0 / 132.0
RECOMPUTE_FULL, RECOMPUTE_SELECTIVE = 2, 1
CAUSAL_SHARE = 0.5  # of the score blocks a fused kernel computes under a causal mask
SCORE_BYTES, ACTIVATION_BYTES = 5.0, 34.0  # stored bytes per token and layer: 5·a·T, 34·h
# FP8 casts: every linear layer's input and output gradient is cast to FP8 in the two layouts
# its forward and backward GEMMs read, one fused cast + transpose reading 2 bytes (BF16) and
# writing 2 × 1 a value (NVIDIA Transformer Engine, transformer_engine/common/transpose/
# cast_transpose.cu; torchao float8 casts input, weight and gradient alike, pytorch/ao
# torchao/float8/README.md). A GPT-style layer (FFN 4h) has 7h input values a token (QKV h,
# projection h, FC1 h, FC2 4h) and 9h output-gradient values (3h, h, 4h, h): 16h.
FP8_CAST_BYTES, FP8_CAST_VALUES_PER_HIDDEN = 4.0, 16.0
BYTES_FP32 = 4.0
# Per MoE layer and token: permute + unpermute, each read and written, forward and backward.
PERMUTE_PASSES = 2.0 * 2.0 * 2.0
ROUTER_PASSES = 8.0  # fp32 logits and scores: written and read, forward and backward
ROUTER_FLOPS_PER_WEIGHT = 6.0  # the h × E router matmul: forward 2, backward 4 per weight
# DeepGEMM's measured FP8 GEMM rates on the H800 SXM5 by reduction size K (README, commit
# 55ab91f's parent, 2025-03; rows with M and N ≥ 4,096; the mean where several share a K:
# 1,025 dense and 1,099 / 1,093 grouped at K 2048, 1,304 dense and 1,297 / 1,288 grouped at
# K 7168), and the H800's dense FP8 peak they are a share of (profiles/hardware).
DEEPGEMM_K = np.array([512.0, 1536.0, 2048.0, 7168.0, 16384.0])
DEEPGEMM_TFLOPS = np.array([590.0, 990.0, (1025.0 + 1099.0 + 1093.0) / 3.0,
                            (1304.0 + 1297.0 + 1288.0) / 3.0, 1358.0])
DEEPGEMM_PEAK_TFLOPS = 1979.0
# NCCL's ring latencies, Simple protocol (NVIDIA/nccl src/graph/tuning.cc, default tuner
# constants: baseLatencies Ring 8.4 µs; hwLatencies NVLINK Ring 3.4 µs, NET Ring 14 µs).
RING_BASE_LATENCY_S, RING_NVLINK_HOP_S, RING_NET_HOP_S = 8.4e-6, 3.4e-6, 14.0e-6
ZERO3_COLLECTIVES_PER_LAYER = 3.0


def moe_layer_work(r: dict, ep) -> tuple[np.ndarray, np.ndarray]:
    """(router FLOPs, memory-bound bytes) per token and MoE layer; 0 for dense models.

    The bytes: the permutation and unpermutation of the k routed copies (twice each when
    the tokens go to other expert-parallel ranks holding several experts each) and the
    router's fp32 logits and scores (NVIDIA Megatron-LM, megatron/core/transformer/moe/
    token_dispatcher.py, MoEAlltoAllTokenDispatcher, 2025).
    """
    moe = r["experts"] > 1
    sorts = np.where((ep > 1) & (r["experts"] / ep > 1), 2.0, 1.0)
    permute = PERMUTE_PASSES * sorts * BYTES_BF16 * r["experts_per_token"] * r["hidden"]
    router = ROUTER_PASSES * BYTES_FP32 * r["experts"]
    flops = ROUTER_FLOPS_PER_WEIGHT * r["hidden"] * r["experts"]
    return np.where(moe, flops, 0.0), np.where(moe, permute + router, 0.0)


def expert_flops_per_token(r: dict) -> np.ndarray:
    """Training FLOPs per token of the routed experts a token visits (6 per weight of its k
    experts); exactly 0 for dense models."""
    return np.where(r["experts"] > 1, 6.0 * r["expert_params"] * r["experts_per_token"]
                    / np.maximum(r["experts"], 1.0), 0.0)


def fp8_k_share(k_dim):
    """Share of the FP8 dense peak a Hopper GEMM of reduction size ``k_dim`` reaches."""
    return np.interp(np.log(k_dim), np.log(DEEPGEMM_K), DEEPGEMM_TFLOPS) / DEEPGEMM_PEAK_TFLOPS


def expert_gemm_seconds(r: dict, lay: dict, k: dict, kernel, peak_linear) -> np.ndarray:
    """Seconds per token of the routed expert GEMMs (one pass: forward, input and weight
    gradients, no recomputation), over all layers; exactly 0 for dense models.

    ``kernel``: the row's kernel efficiency; ``peak_linear``: the linear layers' peak as the
    dense chain takes it (× ``fp8_matmul_efficiency`` for FP8 rows).
    """
    moe = r["experts"] > 1
    tp, ep = lay["tp"], lay["ep"]
    experts = np.where(moe, r["experts"], 2.0)  # 2: any finite value; dense rows give 0
    k_top, h = r["experts_per_token"], r["hidden"]
    ffn = np.maximum(r["expert_params"] / (3.0 * h * r["layers"] * experts) / tp, 1.0)
    tokens = np.maximum(ep * r["seq"] * k_top / (tp * experts), 1.0)  # per expert, micro-batch
    # (K, share of the expert FLOPs): gate+up (2/3) and down (1/3), each forward, input
    # gradient and weight gradient (a third each).
    gemms = ((h / tp, 2.0 / 9.0), (2.0 * ffn, 2.0 / 9.0), (tokens, 2.0 / 9.0),
             (ffn, 1.0 / 9.0), (h / tp, 1.0 / 9.0), (tokens, 1.0 / 9.0))
    half = k["matrix_half_size"]
    dense_eff = r["matmul_efficiency"] * kernel
    chain = sum(w / (peak_linear * dense_eff * kd / (kd + half)) for kd, w in gemms)
    table = sum(w / (r["peak_linear"] * fp8_k_share(kd) * kernel) for kd, w in gemms)
    measured = (r["fp8"] > 0) & (r.get("fp8_gemm_measured", 0.0) > 0)
    return np.where(moe, expert_flops_per_token(r) * np.where(measured, table, chain), 0.0)


def ring_latency_s(node, tp, dp):
    """Seconds of latency of one ring all-gather or reduce-scatter over a data-parallel group.

    NCCL's own cost model (NVIDIA/nccl src/graph/tuning.cc, master 5067397, 2026-06, ring
    algorithm, Simple protocol, the one large messages use): a base latency of 8.4 µs plus
    one hop per step, n − 1 steps for n ranks, of which the N − 1 that cross between the N
    nodes cost the network's 14 µs and the others NVLink's 3.4 µs (its x86 network overhead, 3
    µs with Simple, is below that). TPU slices (no node boundary: ``node`` infinite) run over
    their ICI, not NCCL: 0.
    """
    n = np.maximum(dp, 1.0)
    per_node = ranks_per_node(node, tp, n)
    nodes = np.where(np.isfinite(node), np.ceil(n / per_node), 1.0)
    lat = (RING_BASE_LATENCY_S + (n - nodes) * RING_NVLINK_HOP_S
           + (nodes - 1.0) * RING_NET_HOP_S)
    return np.where(np.isfinite(node) & (n > 1), lat, 0.0)


def ranks_per_node(node, group_stride, ranks):
    """Ranks of a data-parallel group on one node: node ÷ the group's stride in the rank
    order (tp, or tp · ep for the experts' group), at least 1 and at most the group."""
    return np.clip(node / group_stride, 1.0, np.maximum(ranks, 1.0))


def data_parallel_bandwidth(node, tp, dp, ep, intra, inter):
    """Bytes per second per device of the data-parallel rings: (dense, expert) groups.

    Ranks are ordered tensor first, then expert, then data, then pipeline (Megatron-Core's
    default ``order="tp-cp-ep-dp-pp"``, megatron/core/parallel_state.py; FSDP without
    tensor parallelism shards over every rank of a node), so a data-parallel group stays
    inside a node while tp · dp ≤ node, and otherwise has node ÷ tp of its ranks on each node
    (node ÷ (tp · ep) for the experts' group). NCCL runs one ring per NIC, each crossing a
    node boundary once, so those g ranks share g NICs and each rank's ring traffic moves at
    g × the per-device network bandwidth, up to the intra-node link: NVIDIA measures 192 GB/s
    all-reduce bus bandwidth on a DGX A100 with 8 × 200 Gb/s HDR NICs (8 × 25 GB/s; NVIDIA/nccl
    issue #812, as quoted in issue #1576, 2025-01), 24 GB/s inter-node with one HDR NIC for 8
    GPUs and "more NICs ... more bandwidth, up to 160GB/s which is the NVLink intra-node
    bandwidth" (issue #412, 2023-04-24; both answers by NCCL's developers). One rank a node
    (tp = node, as Megatron-LM's layouts) moves at one NIC's bandwidth, as before.
    """
    spans = tp * dp > node
    dense = ranks_per_node(node, tp, dp)
    expert = ranks_per_node(node, tp * ep, dp / ep)
    return (np.where(spans, np.minimum(dense * inter, intra), intra),
            np.where(spans, np.minimum(expert * inter, intra), intra))


def layout_times(r: dict, lay: dict, dp, micro_batches, k: dict,
                 share=None, gathers=None) -> dict[str, np.ndarray]:
    """Seconds per device for the whole run, by part, and the total (all (R, K)).

    ``share``: the share of layers recomputed in full (``parallelism.recompute_share``);
    ``gathers``: micro-batches a step that gather ZeRO-3's weights
    (``parallelism.zero3_micro_batches``; default one per step).
    """
    tp, pp, v, ep, zero, rc = lay["tp"], lay["pp"], lay["v"], lay["ep"], lay["zero"], lay["rc"]
    used = tp * pp * dp
    tokens, h, layers = r["tokens"], r["hidden"], r["layers"]
    stage_layers = busiest_stage_layers(r, lay)
    uneven = stage_layers * pp / layers  # 1 where the stages are even
    f_lin, f_attn = 6.0 * r["active_params"], r["attention_flops_per_token"]
    full = (rc == RECOMPUTE_FULL).astype(float) if share is None else share
    unfused = r.get("unfused", 0.0)
    # Recomputation adds one forward pass (1/3 of the training FLOPs): of everything (full)
    # or of the attention core only (selective); Korthikanti et al. 2022, section 5.
    lin_factor = 1.0 + full / 3.0
    attn_unfused = 1.0 + (rc >= RECOMPUTE_SELECTIVE) / 3.0
    # Fused kernels recompute the scores in their backward pass (7 attention matmuls for 6;
    # selective recomputation has nothing left to recompute) and skip the blocks a causal
    # mask removes, about half (Dao et al. 2022, FlashAttention, arXiv:2205.14135, section
    # 3.1; Dao 2023, FlashAttention-2, arXiv:2307.08691, section 3.1).
    attn_fused = CAUSAL_SHARE * (7.0 / 6.0 + full / 3.0)
    attn_factor = unfused * attn_unfused + (1.0 - unfused) * attn_fused
    sharded = h / tp
    size = sharded / (sharded + k["matrix_half_size"])
    kernel = k["kernel_efficiency"] if "kernel_efficiency" in k else r["kernel_efficiency"]
    eff = r["matmul_efficiency"] * kernel * size
    # FP8 linear layers reach a smaller share of the FP8 peak than BF16 ones of theirs
    # (per-tensor or blockwise scaling, casts, FP32 accumulation; ``fp8_matmul_efficiency``).
    peak_linear = np.where(r["fp8"] > 0, r["peak_linear"] * k.get("fp8_matmul_efficiency", 1.0),
                           r["peak_linear"])
    # Routed expert GEMMs apart (``expert_gemm_seconds``): their FLOPs leave the dense chain
    # (x - 0 and + 0 are exact: dense rows' times are unchanged bit for bit).
    expert_flops = expert_flops_per_token(r)
    matmul = tokens / used * ((f_lin - expert_flops) * lin_factor / peak_linear
                              + f_attn * attn_factor / r["peak_bf16"]) / eff
    matmul = matmul + tokens / used * lin_factor * expert_gemm_seconds(r, lay, k, kernel,
                                                                       peak_linear)
    # Mixture-of-experts layers: the router's matmul and the token (un)permutations (exactly 0
    # for dense models, whose times are unchanged).
    router_flops, moe_bytes = moe_layer_work(r, ep)
    moe_work = tokens * layers / used * lin_factor * (router_flops / (r["peak_bf16"] * eff)
                                                      + moe_bytes / r["memory_bandwidth"])
    # Unfused attention also moves its score matrices: 5·a·T bytes stored per token and layer
    # beside the 34·h of the rest (Korthikanti et al. 2022, Table 2), read and written alike.
    scores = unfused * SCORE_BYTES * r["heads"] * r["seq"] / ACTIVATION_BYTES * attn_unfused
    elementwise = (k["elementwise_bytes"] * tokens * layers * (h * lin_factor + scores) / used
                   / r["memory_bandwidth"])
    # FP8 rows also cast each linear layer's inputs and output gradients (× 0 elsewhere: BF16
    # rows are unchanged bit for bit); a recomputed forward casts its inputs again.
    casts = (r["fp8"] * FP8_CAST_BYTES * FP8_CAST_VALUES_PER_HIDDEN * tokens * layers * h
             * lin_factor / used / r["memory_bandwidth"])
    elementwise = elementwise + casts
    dualpipe = r.get("dualpipe", 0.0)
    compute = ((matmul + elementwise + moe_work) * uneven
               / (1.0 - dualpipe * (1.0 - DUALPIPE_COMPUTE_SHARE)))

    per_replica_tokens = tokens / dp
    intra = r["intra_bw"] * k["network_efficiency"]
    inter = r["inter_bw"] * k["network_efficiency"]
    n_allreduce = 4.0 + 2.0 * full
    tensor = np.where(tp > 1, n_allreduce * 2.0 * (tp - 1) / tp * BYTES_BF16 * h
                      * per_replica_tokens * stage_layers / intra, 0.0)
    # Stacks that overlap the tensor-parallel collectives with the GEMMs that feed them
    # (Transformer Engine's userbuffers, NVIDIA/NeMo PR #6362, 2023-04; Megatron Bridge's
    # CommOverlapConfig(tp_comm_overlap=True): "TP communication under GEMM work"; PyTorch
    # Async TP in torchtitan) hide them up to the compute time: a share ``tp_overlap``.
    tp_overlap = r.get("tp_overlap", 0.0)
    tensor = np.maximum(tensor * (1.0 - tp_overlap), tensor - compute)
    pp_link = np.where(tp * pp > r["node"], inter, intra)
    # Each tensor-parallel rank sends its 1/tp share of the boundary activations (sequence-
    # parallel activations are already split; Narayanan et al. 2021, section 4.1, scatter/
    # gather optimisation), once per chunk of an interleaved schedule.
    pipeline = np.where(pp > 1, 2.0 * BYTES_BF16 * h * per_replica_tokens * v / tp / pp_link,
                        0.0)

    steps = tokens / r["batch_tokens"]
    dense = (r["params"] - r["expert_params"]) * uneven / (tp * pp)
    experts = r["expert_params"] * uneven / (tp * pp * ep)
    # ZeRO-3 moves 3Ψ a gathering micro-batch (two all-gathers, one reduce-scatter) for the
    # 2Ψ a step of the other stages (Rajbhandari et al. 2020, section 7).
    gathering = 1.0 if gathers is None else np.maximum(gathers, 1.0)
    zero3 = np.where(zero == 3, 1.5 * gathering, 1.0)
    edp = np.maximum(dp / ep, 1.0)
    dense_bw, expert_bw = data_parallel_bandwidth(r["node"], tp, dp, ep, intra, inter)
    data = steps * zero3 * (2.0 * (dp - 1) / np.maximum(dp, 1) * BYTES_BF16 * dense / dense_bw
                            + 2.0 * (edp - 1) / edp * BYTES_BF16 * experts / expert_bw)
    # ZeRO-3 / FSDP runs three collectives per layer and gathering micro-batch (all-gather
    # forward and backward, reduce-scatter backward; Zhao et al. 2023, section 3.3), each
    # paying its ring's step latency; ZeRO-1/2 reduce few large buckets (none charged).
    fsdp_latency = np.where(zero == 3, ZERO3_COLLECTIVES_PER_LAYER * stage_layers * gathering
                            * ring_latency_s(r["node"], tp, dp), 0.0)
    data = data + steps * fsdp_latency
    # ZeRO-1/2 reduce the gradients during the backward pass of the step's last micro-batch;
    # ZeRO-3 (FSDP) gathers each layer's parameters ahead of its forward and backward and
    # reduce-scatters its gradients during the backward, overlapping the whole step's compute
    # (Zhao et al. 2023, PyTorch FSDP, arXiv:2304.11277, section 3.3: forward and backward
    # prefetching; Rajbhandari et al. 2020, section 7: the parameters all-gathered per layer).
    hidden_by = np.where(zero == 3, compute,
                         (2.0 / 3.0) * compute / np.maximum(micro_batches, 1.0))
    data_exposed = np.maximum(data - hidden_by, 0.0)

    # Node-limited routing (DeepSeek-V3, section 3.2.2): a token crosses the network once per
    # node its experts sit on (at most M), then NVLink forwards it to each expert's device;
    # the two overlap. FP8 runs dispatch (forward) and send the down-projection gradients
    # (backward) in FP8 and combine in BF16 (DeepSeek-V3, section 3.3.4): 1.5 bytes a value.
    spans = ep * tp > r["node"]
    k_top = r["experts_per_token"]
    routed = r.get("routed_nodes", np.nan)
    limited = spans & np.isfinite(routed)
    net_copies = np.where(limited, np.minimum(k_top, np.where(np.isfinite(routed), routed, 1.0)),
                          k_top)
    moe_layers = np.where(r["experts"] > 1, stage_layers, 0.0)
    a2a_bytes = np.where(r["fp8"] > 0, FP8_A2A_BYTES, BYTES_BF16)
    per_copy = (4.0 * a2a_bytes * h * per_replica_tokens / tp * moe_layers * (ep - 1) / ep)
    over_net = per_copy * net_copies / np.where(spans, inter, intra)
    # A plain all-to-all across nodes (no node-limited routing) sends each token's copies for
    # the expert-parallel ranks of its own node (node ÷ tp of them: Megatron-Core orders
    # tensor ranks first) over NVLink and only the others over the network, at once on both
    # links (NCCL all-to-all: one send per peer; Thakur et al. 2005).
    local = np.minimum(np.maximum(r["node"] / tp, 1.0), ep)
    unit = per_copy * ep / np.maximum(ep - 1, 1.0)  # bytes of one copy of every token
    plain = np.maximum(unit * k_top * (ep - local) / ep / inter,
                       unit * k_top * (local - 1) / ep / intra)
    # A hierarchical dispatcher (DeepEP's normal kernels, NVLink and RDMA forwarding,
    # deepseek-ai/DeepEP docs/legacy.md; HybridEP, "fused intra-node NVLink + inter-node IB
    # dispatch", Megatron-Bridge docs/training/moe-optimization.md; DeepSeek-V3, section
    # 3.2.2) sends a token over the network once per other node holding one of its experts,
    # then forwards it over NVLink: with the experts of n nodes drawn uniformly (force-
    # balanced routing), (n − 1)(1 − (1 − 1/n)^k) network copies a token.
    nodes = np.maximum(ep / local, 1.0)
    remote = (nodes - 1.0) * (1.0 - (1.0 - 1.0 / nodes) ** k_top)
    forwarded = np.maximum(unit * remote / inter, per_copy * k_top / intra)
    plain = np.where(r.get("hierarchical", 0.0) > 0, forwarded, plain)
    over_net = np.where(spans & ~limited, plain, over_net)
    expert = np.where(ep > 1, np.where(limited, np.maximum(over_net, per_copy * k_top / intra),
                                       over_net), 0.0)

    # DeepSeek-V3's DualPipe overlaps the all-to-alls with the computation of another
    # micro-batch (DeepSeek-AI 2024, arXiv:2412.19437, section 3.2.1): up to the compute time.
    # Under 1F1B (plain or interleaved) the experts wait for their tokens: nothing is hidden.
    expert = np.where(dualpipe > 0, np.maximum(expert - compute, 0.0), expert)
    # DualPipe's bubble, (pp/2 − 1)(F&B + B − 3W) (DeepSeek-V3, Table 2), vanishes with equal
    # forward, input-gradient and weight-gradient times: none is charged.
    one_f_one_b = 1.0 - dualpipe
    bubble = (one_f_one_b * (pp - 1) / (v * np.maximum(micro_batches, 1.0))
              * (compute + tensor + expert))
    total = compute + tensor + pipeline + data_exposed + expert + bubble
    return {"compute_s": compute, "tensor_s": tensor, "pipeline_s": pipeline,
            "data_s": data_exposed, "expert_s": expert, "bubble_s": bubble, "total_s": total}
