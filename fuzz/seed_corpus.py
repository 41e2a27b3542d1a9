#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets into fuzz/corpus/<target>/.

The committed corpus is these seeds plus what `scripts/fuzz.sh --merge` kept
from fuzzing runs (files named by their SHA-1, as libFuzzer names them).
Seeds: the filters of src/wattlab/track/testdata/filter_cases.txt, and
request bodies of the shapes MLflow clients and wattlab send.
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def filters():
    cases = ROOT.parent / "src/wattlab/track/testdata/filter_cases.txt"
    for line in cases.read_text().splitlines():
        if not line.strip() or line.startswith("#") or "=>" not in line:
            continue
        text = line.rsplit("=>", 1)[0].strip()
        if " ORDER BY " in text:
            text, order = text.split(" ORDER BY ", 1)
            yield text + "\n" + "\n".join(t.strip() for t in order.split(","))
        else:
            yield text


# The endpoints of fuzz_rest_api.cpp, by the index its first byte selects.
ENDPOINTS = ["runs/log-batch", "runs/log-metric", "runs/log-parameter", "runs/set-tag", "runs/delete-tag",
             "runs/create", "runs/update", "runs/search", "experiments/create", "experiments/search",
             "experiments/update", "experiments/set-experiment-tag", "runs/log-energy-windows",
             "runs/log-power-samples", "runs/set-environment", "runs/get", "metrics/get-history",
             "experiments/get-by-name", "metrics/get-history-sampled", "runs/power"]

BATCH = {"run_id": "$RUN",
         "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1700000000000, "step": 1},
                     {"key": "acc", "value": 0.9, "timestamp": 1700000000001}],
         "params": [{"key": "lr", "value": "0.1"}], "tags": [{"key": "phase", "value": "train"}]}

REQUESTS = {
    "runs/log-batch": BATCH,
    "runs/log-metric": {"run_id": "$RUN", "key": "loss", "value": "NaN", "timestamp": 1, "step": 2},
    "runs/log-parameter": {"run_id": "$RUN", "key": "batch_size", "value": "32"},
    "runs/set-tag": {"run_id": "$RUN", "key": "mlflow.runName", "value": "renamed"},
    "runs/delete-tag": {"run_id": "$RUN", "key": "phase"},
    "runs/create": {"experiment_id": "0", "run_name": "r", "start_time": 5, "tags": [{"key": "a", "value": "b"}]},
    "runs/update": {"run_id": "$RUN", "status": "FINISHED", "end_time": 2000},
    "runs/search": {"experiment_ids": ["0"], "filter": "metrics.loss < 1 AND params.lr = '0.1'",
                    "order_by": ["metrics.loss DESC"], "max_results": 10},
    "experiments/create": {"name": "green-cv", "tags": [{"key": "k", "value": "v"}]},
    "experiments/search": {"filter": "name LIKE 'g%'", "max_results": 5},
    "experiments/update": {"experiment_id": "0", "new_name": "Default2"},
    "experiments/set-experiment-tag": {"experiment_id": "0", "key": "k", "value": "v"},
    "runs/log-energy-windows": {"run_id": "$RUN", "energy_windows": [
        {"name": "epoch 1", "start_ms": 0, "end_ms": 1000, "duration_s": 1.0,
         "domains": [{"name": "package-0", "energy_j": 10.5, "estimated": False, "counts_in_total": True}]}]},
    "runs/log-power-samples": {"run_id": "$RUN", "domains": ["package-0", "dram"],
                               "samples": [{"timestamp_ms": 1, "power_w": [10.0, None]}]},
    "runs/set-environment": {"run_id": "$RUN", "environment": {"gpu": "RTX 3090", "seed": "42"}},
    "runs/get": "run_id=$RUN",
    "metrics/get-history": "run_id=$RUN&metric_key=loss&max_results=2",
    "experiments/get-by-name": "experiment_name=Default",
    "metrics/get-history-sampled": "run_id=$RUN&metric_key=loss&max_points=10",
    "runs/power": "run_id=$RUN&max_points=5",
}


def main():
    for f in filters():
        write("filter", f)
    write("filter", "metrics.a > 0" + "".join(" AND metrics.a%d > 0" % i for i in range(1, 120)))
    write("log_batch_reader", json.dumps(BATCH).replace("$RUN", "0123456789abcdef0123456789abcdef"))
    write("log_batch_reader", '{"run_id":"r","metrics":[{"key":"k","value":1e300,"timestamp":-9223372036854775808}]}')
    write("log_batch_reader", '{"metrics":[],"params":[{"key":"p"}],"tags":[],"run_id":"x"}')
    for i, endpoint in enumerate(ENDPOINTS):
        request = REQUESTS[endpoint]
        body = request if isinstance(request, str) else json.dumps(request)
        write("rest_api", bytes([i]) + body.encode())
    write("rest_api", bytes([7]) + b'{"experiment_ids": ' + b"[" * 70 + b"]" * 70 + b"}")


if __name__ == "__main__":
    main()
