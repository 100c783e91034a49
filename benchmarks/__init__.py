"""poolkit's benchmark harness (issue 6): ``python -m benchmarks --help``.

Times poolkit against PyTorch, TensorFlow, ONNX Runtime, JAX and NumPy on the
same inputs, after checking that every peer computes the same result, and writes
a Markdown table and a bar chart to ``benchmarks/results/``.
"""
