"""chainrule's benchmark suite: `python -m benchmarks` times chainrule against PyTorch.

Run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks` (or `make bench`);
`--help` lists the options. Workloads live in `benchmarks/workloads/` and register themselves with
`benchmarks.registry`; each run's table is written to `benchmarks/results/`.
"""
