"""The GPU selection: the tests that matter on a GPU, marked ``gpu`` by conftest.py.

``pytest -m gpu`` runs them (``nox -s gpu`` once per CUDA backend; scripts/gpu_check.py on a
CUDA machine), about 45 tests per backend, chosen to take under a minute each for cupy, jax on
CUDA and torch on CUDA (``ARRAYNET_TORCH_DEVICE=cuda``). On the CPU they run on the CPU
backends, so the selection is checked wherever the suite runs.

Each entry is a test id with ``*`` for any text (the backend in a parameter id, say); every
entry must match a collected test (tests/test_gpu.py checks it).
"""

AGREEMENT = [  # the three modes against float64 NumPy by hand, in both float dtypes
    "test_agreement.py::test_fit_matches_reference[*-1-identity-se-full-float64]",
    "test_agreement.py::test_fit_matches_reference[*-1-sigmoid-bce-stochastic-nobias-1d-float64]",
    "test_agreement.py::test_fit_matches_reference[*-2-tanh-mse-minibatch-partial-float64]",
    "test_agreement.py::test_fit_matches_reference[*-2-tanh-mse-minibatch-partial-float32]",
    "test_agreement.py::test_fit_matches_reference[*-3-tanh-relu-sce-int-full-float32]",
    "test_agreement.py::test_fit_matches_reference[*-3-sigmoid-sce-onehot-minibatch-shuffle-float64]",
    "test_agreement.py::test_host_outputs_and_weight_round_trip[*-float32]",
]
GRADIENTS = [  # against central differences and the float64 reference
    "test_gradients.py::test_gradients_match_numerical_and_reference[*-squared_error-relu-reg]",
    "test_gradients.py::test_gradients_match_numerical_and_reference[*-binary_cross_entropy-sigmoid-binary]",
    "test_gradients.py::test_gradients_match_numerical_and_reference[*-categorical_cross_entropy-softmax-onehot]",
    "test_gradients.py::test_gradients_match_numerical_and_reference[*-softmax_cross_entropy-tanh-int]",
    "test_gradients.py::test_checker_can_fail[*]",
]
STREAMING = [
    "test_streaming.py::test_streaming_in_order_equals_training_in_memory[*]",
    "test_streaming.py::test_shuffling_across_and_within_chunks_matches_a_hand_written_loop[*]",
    "test_streaming.py::test_a_bad_row_in_the_last_chunk_is_refused_before_any_update[*]",
]
GENERATORS = [  # data drawn on the device's own generator
    "test_synthetic.py::test_device_rng_is_seeded_per_backend[*-classification]",
    "test_synthetic.py::test_device_rng_is_seeded_per_backend[*-teacher]",
    "test_synthetic.py::test_device_rng_draws_the_same_distributions[*]",
    "test_synthetic.py::test_one_seed_one_dataset_and_the_same_on_every_backend[*-classification]",
    "test_synthetic.py::test_cupy_draws_on_the_gpu",
]
MIXED_PRECISION = [
    "test_precision.py::test_mixed_training_follows_float32_with_float32_master_weights[*]",
    "test_precision.py::test_the_forward_pass_rounds_like_numpy_in_16_bits[*]",
    "test_precision.py::test_float16_overflow_skips_the_step_and_halves_the_scale[*]",
    "test_precision.py::test_gradcheck_of_a_mixed_precision_model_checks_its_math_in_float64[*]",
]
SAVE_LOAD = [  # saved on one backend, loaded on another (the host and the device)
    "test_io.py::test_load_on_each_backend_predicts_as_the_original[*]",
    "test_io.py::test_resume_matches_one_uninterrupted_fit[*-float32-adam]",
    "test_io.py::test_state_moved_across_backends_saves_and_loads[*]",
]
OUT_OF_MEMORY = [
    "test_memory.py::test_a_batch_over_a_simulated_limit_is_refused_then_a_smaller_one_trains[*]",
    "test_memory.py::test_cupy_with_a_real_limit",
]
DEVICES_AND_PRECISION = [  # device names, the matmul precision; GPU-only checks
    "test_backend_devices.py::*",
    "test_backend_precision.py::test_highest_is_the_default_on_every_backend[*]",
    "test_gpu.py::test_*[*]",  # the GPU checks (not the selection's own checks)
]

GPU_TESTS = [
    *AGREEMENT,
    *GRADIENTS,
    *STREAMING,
    *GENERATORS,
    *MIXED_PRECISION,
    *SAVE_LOAD,
    *OUT_OF_MEMORY,
    *DEVICES_AND_PRECISION,
]
