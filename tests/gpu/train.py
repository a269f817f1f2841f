"""Deterministic PyTorch training loop for the checkpoint/restore bit-identity test.

Trains an MLP with AdamW on fixed synthetic data and appends one line per step to --log:
"step <n> loss <float.hex()>". A run checkpointed and restored mid-way must print exactly the
same lines as an uninterrupted run. --extra-gib holds extra device memory (patterned) to make the
GPU state larger. --step-sleep slows the loop so a checkpoint lands mid-run.
"""
import argparse
import os
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--log", required=True)
    ap.add_argument("--extra-gib", type=float, default=2.0)
    ap.add_argument("--step-sleep", type=float, default=0.05)
    a = ap.parse_args()

    torch.manual_seed(1234)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    dev = torch.device("cuda")
    model = torch.nn.Sequential(
        torch.nn.Linear(512, 2048), torch.nn.GELU(),
        torch.nn.Linear(2048, 2048), torch.nn.GELU(),
        torch.nn.Linear(2048, 10)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator(device="cpu").manual_seed(99)
    x = torch.randn(4096, 512, generator=g).to(dev)
    y = torch.randint(0, 10, (4096,), generator=g).to(dev)
    extra = torch.arange(int(a.extra_gib * (1 << 30) // 4), dtype=torch.int32, device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()
    with open(a.log, "a", buffering=1) as log:
        for step in range(a.steps):
            idx = torch.arange(step * 256, step * 256 + 256, device=dev) % x.shape[0]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            log.write(f"step {step} loss {loss.item().hex()}\n")
            time.sleep(a.step_sleep)
        ok = bool(torch.equal(extra, torch.arange(extra.numel(), dtype=torch.int32, device=dev)))
        log.write(f"extra_memory_intact {ok}\n")


if __name__ == "__main__":
    main()
