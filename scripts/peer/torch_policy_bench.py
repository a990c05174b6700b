"""PyTorch peer of BM_PolicyTrainStepCpu/fast: the `fast` agent's training forward + backward on the CPU.

One step = one minibatch of SEGMENTS x STEPS rows (256 x 16 = 4,096), the unit bench_train measures:
token -> box scatter, two convolutions, two linear layers, a 2-layer LSTM over time from a zero state,
the critic and the bilinear actor head, log-probs of given actions, entropies, then a backward of
(sum logp + sum entropy + sum value) / rows. No optimizer step, as in ours.

Prints `torch_rows_per_s=<float>` (trained agent-steps per second) and a `torch_desc=` line.
Run by scripts/peer-torch-bench.sh; usable alone: python torch_policy_bench.py --seconds 5
"""

import argparse
import os
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SEGMENTS, STEPS = 256, 16
TOKENS, FEATURES, OBS_H, OBS_W = 200, 22, 11, 11
NUM_ACTIONS = 25  # the simple env's 9 action types with max args {0,1,3,0,0,9,0,0,3}: 25 flat actions
PAD = 0xFF


def feature_norms() -> torch.Tensor:
    # Same normalizations as bench_train's feature_spec: 1 -> 10, 5 and 8 -> 255, 12..21 -> 100, else 1.
    n = torch.ones(FEATURES)
    n[1] = 10.0
    n[5] = 255.0
    n[8] = 255.0
    n[12:22] = 100.0
    return n


def make_tokens(rows: int, gen: torch.Generator, valid_per_row: int = 40) -> torch.Tensor:
    """uint8 [rows, TOKENS, 3]: about `valid_per_row` tokens at random cells, the rest padding."""
    obs = torch.full((rows, TOKENS, 3), PAD, dtype=torch.uint8)
    # Vary the count a little around the target, as real observations do.
    counts = torch.randint(valid_per_row - 8, valid_per_row + 9, (rows,), generator=gen)
    pos = torch.arange(TOKENS).expand(rows, TOKENS)
    valid = pos < counts[:, None]
    n = int(valid.sum())
    r = torch.randint(0, OBS_H, (n,), generator=gen)
    c = torch.randint(0, OBS_W, (n,), generator=gen)
    obs[..., 0][valid] = ((r << 4) | c).to(torch.uint8)
    obs[..., 1][valid] = torch.randint(0, FEATURES, (n,), generator=gen).to(torch.uint8)
    obs[..., 2][valid] = torch.randint(1, 256, (n,), generator=gen).to(torch.uint8)
    return obs


def tokens_to_box(obs: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """box[b, feature, loc >> 4, loc & 15] = value / norm[feature] for every non-padding token."""
    rows = obs.shape[0]
    loc = obs[..., 0]
    feat = obs[..., 1]
    keep = (loc != PAD) & (feat < FEATURES)
    b, t = keep.nonzero(as_tuple=True)
    loc = loc[b, t].long()
    f = feat[b, t].long()
    v = obs[b, t, 2].float() / norms[f]
    box = torch.zeros(rows, FEATURES, OBS_H, OBS_W)
    box.index_put_((b, f, loc >> 4, loc & 15), v)
    return box


def init_like_ours(module: nn.Module) -> None:
    """Any reasonable init does for timing; orthogonal weights, zero biases, LSTM biases 1 as ours."""
    for name, p in module.named_parameters():
        if name.startswith("lstm.bias"):
            nn.init.ones_(p)
        elif p.dim() >= 2 and name != "action_embeds.weight":
            nn.init.orthogonal_(p)
        elif p.dim() == 1:
            nn.init.zeros_(p)


class FastPolicy(nn.Module):
    """Metta's `fast` agent, with the parameter names our ParamTable uses."""

    def __init__(self):
        super().__init__()
        self.cnn1 = nn.Conv2d(FEATURES, 64, kernel_size=5, stride=3)  # 11x11 -> 3x3
        self.cnn2 = nn.Conv2d(64, 64, kernel_size=3, stride=1)  # 3x3 -> 1x1
        self.fc1 = nn.Linear(64, 128)
        self.encoded_obs = nn.Linear(128, 128)
        self.lstm = nn.LSTM(128, 128, num_layers=2)  # time-major
        self.critic_1 = nn.Linear(128, 1024)
        self.value = nn.Linear(1024, 1)
        self.actor_1 = nn.Linear(128, 512)
        self.action_embeds = nn.Embedding(100, 16)
        self.action_W = nn.Parameter(torch.empty(512, 16))
        self.action_bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("active_actions", torch.arange(1, NUM_ACTIONS + 1), persistent=False)
        self.register_buffer("norms", feature_norms(), persistent=False)
        init_like_ours(self)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, segments: int, steps: int):
        box = tokens_to_box(obs, self.norms)
        x = F.relu(self.cnn1(box))
        x = F.relu(self.cnn2(x))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.encoded_obs(x))
        # Rows are segment-major; the LSTM wants [steps, segments, 128]. Zero initial state (None).
        x = x.view(segments, steps, -1).transpose(0, 1).contiguous()
        x, _ = self.lstm(x)
        x = x.transpose(0, 1).reshape(segments * steps, -1)
        value = self.value(torch.tanh(self.critic_1(x))).squeeze(-1)
        h = F.relu(self.actor_1(x))
        q = torch.tanh(h @ self.action_W)  # [rows, 16]
        emb = self.action_embeds(self.active_actions)  # [25, 16]
        logits = q @ emb.t() + self.action_bias  # [rows, 25]
        logp_all = F.log_softmax(logits, dim=-1)
        logp = logp_all.gather(1, actions[:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        return logp, entropy, value


def train_step(model, obs, actions, rows):
    model.zero_grad()
    logp, entropy, value = model(obs, actions, SEGMENTS, STEPS)
    loss = (logp.sum() + entropy.sum() + value.sum()) / rows
    loss.backward()
    return loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds (after warm-up)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (default: all CPUs)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--min-iters", type=int, default=3, help="time at least this many steps")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    rows = SEGMENTS * STEPS
    obs = make_tokens(rows, gen)
    actions = torch.randint(0, NUM_ACTIONS, (rows,), generator=gen)
    model = FastPolicy().train()

    for _ in range(args.warmup):
        train_step(model, obs, actions, rows)
    # The backward must reach every parameter, or we would be timing less than ours does.
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    if missing:
        raise SystemExit(f"torch_policy_bench: no gradient for {missing}")

    iters = 0
    t0 = time.perf_counter()
    elapsed = 0.0
    while elapsed < args.seconds or iters < args.min_iters:
        train_step(model, obs, actions, rows)
        iters += 1
        elapsed = time.perf_counter() - t0

    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"torch_desc=torch {torch.__version__}, python {platform.python_version()}, "
        f"threads={torch.get_num_threads()}, mkldnn={torch.backends.mkldnn.is_available()}, "
        f"mkl={torch.backends.mkl.is_available()}, params={n_params}, "
        f"valid tokens/row={float((obs[..., 0] != PAD).sum()) / rows:.1f}"
    )
    print(f"torch_iters={iters}")
    print(f"torch_ms_per_step={1000.0 * elapsed / iters:.2f}")
    print(f"torch_rows_per_s={rows * iters / elapsed:.1f}")


if __name__ == "__main__":
    main()
