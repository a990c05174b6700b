"""PyTorch peer of bench_train on a GPU (issue 13): the `fast` and `api_default` agents' training step
(forward + backward of one minibatch, BM_PolicyTrainStepCuda) and rollout step (one forward of every
agent with its LSTM state and a sampled action, no gradient, BM_PolicyRolloutCuda), eager and
torch.compile, fp32 and bf16 autocast. The networks are ours layer for layer (nn/policy.cpp's presets);
observations are token rows scattered into the dense box on the device, as our dense path does.

Prints one line per measurement:
  torch_gpu agent=fast step=train rows=4096 compile=0 dtype=fp32 rows_per_s=...
Run by scripts/gpu-check.sh when PyTorch with CUDA is installed; usable alone:
  python torch_gpu_bench.py --seconds 3 [--device cpu] [--agents fast] [--no-compile]
"""

import argparse
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_policy_bench import (FEATURES, NUM_ACTIONS, OBS_H, OBS_W, PAD, feature_norms,  # noqa: E402
                                init_like_ours, make_tokens)

# nn/policy.cpp's presets: convs (channels, kernel, stride, padding), fcs, LSTM, critic, actor widths
ARCHS = {
    "fast": dict(convs=[(64, 5, 3, 0), (64, 3, 1, 0)], fcs=[128, 128], lstm_layers=2, hidden=128,
                 critic_hidden=1024, actor_hidden=512),
    "api_default": dict(convs=[(32, 3, 1, 1), (64, 3, 1, 1)], fcs=[512], lstm_layers=1, hidden=512,
                        critic_hidden=0, actor_hidden=512),
}


def tokens_to_box(obs, norms):
    """box[b, feature, loc >> 4, loc & 15] = value / norm[feature] for every non-padding token."""
    rows = obs.shape[0]
    loc, feat = obs[..., 0].long(), obs[..., 1].long()
    keep = (loc != PAD) & (feat < FEATURES)
    b, t = keep.nonzero(as_tuple=True)
    loc, f = loc[b, t], feat[b, t]
    v = obs[b, t, 2].float() / norms[f]
    box = torch.zeros(rows, FEATURES, OBS_H, OBS_W, device=obs.device)
    box.index_put_((b, f, loc >> 4, loc & 15), v)
    return box


class Policy(nn.Module):
    def __init__(self, convs, fcs, lstm_layers, hidden, critic_hidden, actor_hidden):
        super().__init__()
        layers, ch, h, w = [], FEATURES, OBS_H, OBS_W
        for out, k, s, p in convs:
            layers.append(nn.Conv2d(ch, out, k, stride=s, padding=p))
            ch, h, w = out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        self.convs = nn.ModuleList(layers)
        dims, fc = [ch * h * w] + fcs, []
        for a, b in zip(dims[:-1], dims[1:]):
            fc.append(nn.Linear(a, b))
        self.fcs = nn.ModuleList(fc)
        self.lstm = nn.LSTM(dims[-1], hidden, num_layers=lstm_layers)  # time-major
        self.critic = nn.Linear(hidden, critic_hidden) if critic_hidden else None
        self.value = nn.Linear(critic_hidden or hidden, 1)
        self.actor = nn.Linear(hidden, actor_hidden)
        self.action_embeds = nn.Embedding(100, 16)
        self.action_W = nn.Parameter(torch.empty(actor_hidden, 16))
        self.action_bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("active_actions", torch.arange(1, NUM_ACTIONS + 1), persistent=False)
        self.register_buffer("norms", feature_norms(), persistent=False)
        init_like_ours(self)

    def core(self, obs):
        x = tokens_to_box(obs, self.norms)
        for c in self.convs:
            x = F.relu(c(x))
        x = x.flatten(1)
        for f in self.fcs:
            x = F.relu(f(x))
        return x

    def heads(self, x):
        value = self.value(torch.tanh(self.critic(x)) if self.critic is not None else x).squeeze(-1)
        q = torch.tanh(F.relu(self.actor(x)) @ self.action_W)
        logits = q @ self.action_embeds(self.active_actions).t() + self.action_bias
        return F.log_softmax(logits.float(), dim=-1), value

    def train_forward(self, obs, actions, segments, steps):
        x = self.core(obs)
        x = x.view(segments, steps, -1).transpose(0, 1).contiguous()
        x, _ = self.lstm(x)  # zero initial state
        logp_all, value = self.heads(x.transpose(0, 1).reshape(segments * steps, -1))
        logp = logp_all.gather(1, actions[:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        return logp, entropy, value

    def rollout_forward(self, obs, state):
        x, state = self.lstm(self.core(obs)[None], state)
        logp_all, value = self.heads(x[0])
        action = torch.multinomial(logp_all.exp(), 1).squeeze(1)
        return action, logp_all.gather(1, action[:, None]).squeeze(1), value, state


def timed(fn, seconds, warmup, device):
    for _ in range(warmup):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    iters, t0 = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        if iters % 5 == 0 or iters < 5:
            if device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds and iters >= 3:
                return iters / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--agents", default="fast,api_default")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--segments", type=int, default=256, help="train step: segments x steps rows")
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--rollout-agents", default="1024,16384")
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    args = ap.parse_args()
    dev = args.device
    torch.manual_seed(1)
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32; bf16 is the autocast runs
        torch.backends.cudnn.allow_tf32 = False
    print(f"torch_gpu_desc=torch {torch.__version__}, python {platform.python_version()}, device "
          f"{torch.cuda.get_device_name() if dev == 'cuda' else platform.processor() or 'cpu'}")
    gen = torch.Generator().manual_seed(1)
    rows = args.segments * args.steps
    compiles = [False] if args.no_compile else [False, True]
    for agent in args.agents.split(","):
        model = Policy(**ARCHS[agent]).to(dev)
        obs = make_tokens(rows, gen).to(dev)
        actions = torch.randint(0, NUM_ACTIONS, (rows,), generator=gen).to(dev)
        for compiled in compiles:
            fwd = torch.compile(model.train_forward) if compiled else model.train_forward
            roll = torch.compile(model.rollout_forward) if compiled else model.rollout_forward
            for dtype in ("fp32", "bf16"):
                ctx = (lambda: torch.autocast(dev, dtype=torch.bfloat16)) if dtype == "bf16" else None

                def train_step():
                    model.zero_grad(set_to_none=True)
                    if ctx:
                        with ctx():
                            logp, ent, val = fwd(obs, actions, args.segments, args.steps)
                    else:
                        logp, ent, val = fwd(obs, actions, args.segments, args.steps)
                    ((logp.sum() + ent.sum() + val.float().sum()) / rows).backward()

                try:
                    rate = timed(train_step, args.seconds, args.warmup, dev) * rows
                    print(f"torch_gpu agent={agent} step=train rows={rows} compile={int(compiled)} dtype={dtype} "
                          f"rows_per_s={rate:.0f}", flush=True)
                except Exception as e:  # a backend without bf16 or a compiler: say so, go on
                    print(f"torch_gpu agent={agent} step=train compile={int(compiled)} dtype={dtype} "
                          f"error={type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)
                for n in (int(x) for x in args.rollout_agents.split(",")):
                    robs = make_tokens(n, gen).to(dev)
                    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size
                    state = [(torch.zeros(layers, n, hidden, device=dev), torch.zeros(layers, n, hidden, device=dev))]

                    @torch.no_grad()
                    def rollout_step():
                        if ctx:
                            with ctx():
                                out = roll(robs, state[0])
                        else:
                            out = roll(robs, state[0])
                        state[0] = tuple(s.float() for s in out[3])

                    try:
                        rate = timed(rollout_step, args.seconds, args.warmup, dev) * n
                        print(f"torch_gpu agent={agent} step=rollout rows={n} compile={int(compiled)} dtype={dtype} "
                              f"rows_per_s={rate:.0f}", flush=True)
                    except Exception as e:
                        print(f"torch_gpu agent={agent} step=rollout rows={n} compile={int(compiled)} dtype={dtype} "
                              f"error={type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)


if __name__ == "__main__":
    main()
