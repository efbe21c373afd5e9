"""The lessons of the seeds (Grokking Deep Learning ch. 3-6, "Neural Network From Scratch"),
reproduced by the examples with arraynet on every backend, in float64.

Where a seed prints numbers, they are copied here as literals (its printed lines, parsed) and
checked to 1e-9 relative, or to the digits printed. Where a seed shows a cell's code but not its
output (ch. 3 and ch. 5), the literals are what that code computes in plain Python. What the
examples print is parsed back and checked to 1e-12 relative (``assert_printed``, conftest.py):
the 17th digit of a repr can differ between CPUs.
"""

import re

import numpy as np
import pytest
from examples_loader import load_example as _load

import arraynet as an

ch3 = _load("ch3_forward")
ch4 = _load("ch4_gradient_descent")
ch5 = _load("ch5_multiple_weights")
ch6 = _load("ch6_streetlights")
scratch = _load("scratch_notebook")


def numbers(text: str) -> list[float]:
    """The numbers of printed lines, in order."""
    return [float(x) for x in re.findall(r"-?\d+\.?\d*(?:e[-+]\d+)?", text)]


def flat(rows) -> list[float]:
    return [float(x) for row in rows for x in row]


def printed(digits: int):
    """A tolerance for numbers printed with ``digits`` decimals."""
    return {"abs": 0.5 * 10.0**-digits * 1.001}


# -- ch. 3: forward propagation (seed 002's code; its output cells are empty) ----------------


def test_ch3_forward_propagation(backend):
    with an.use(backend, dtype="float64"):
        assert ch3.single_weight() == pytest.approx([0.85, 0.95, 1.0, 0.9], rel=1e-9)
        assert ch3.weighted_sum() == pytest.approx([0.98, 1.11, 1.15, 1.08], rel=1e-9)
        assert flat(ch3.multiple_outputs()) == pytest.approx(
            [0.195, 0.13, 0.585, 0.27, 0.18, 0.81, 0.24, 0.16, 0.72, 0.24, 0.16, 0.72], rel=1e-9
        )
        assert flat(ch3.multiple_inputs_outputs()) == pytest.approx(
            [0.555, 0.98, 0.965, 0.64, 1.11, 1.17, 0.92, 1.15, 1.09, 0.69, 1.08, 1.27], rel=1e-9
        )
        assert ch3.stacked() == pytest.approx([0.047, 1.256, -0.286], rel=1e-9)


def test_ch3_main_prints(capsys, assert_printed):
    ch3.main(["numpy"])
    assert_printed(capsys.readouterr().out, "single weight: 0.8500000000000001")


# -- ch. 4: gradient descent (seed 004's printed lines) ----------------------------------------

HOT_AND_COLD_FIRST = """\
Error: 0.30250000000000005 Prediction: 0.25
Error: 0.3019502500000001 Prediction: 0.2505
Error: 0.30140100000000003 Prediction: 0.251
Error: 0.30085225 Prediction: 0.2515
Error: 0.30030400000000007 Prediction: 0.252
"""

HOT_AND_COLD_LAST = """\
Error: 1.0799505792475652e-27 Prediction: 0.7999999999999672
"""

GD_20 = """\
Error: 0.30250000000000005 Prediction: 0.25
Error: 0.17015625000000004 Prediction: 0.3875
Error: 0.095712890625 Prediction: 0.49062500000000003
Error: 0.05383850097656251 Prediction: 0.56796875
Error: 0.03028415679931642 Prediction: 0.6259765625
Error: 0.0170348381996155 Prediction: 0.669482421875
Error: 0.00958209648728372 Prediction: 0.70211181640625
Error: 0.005389929274097089 Prediction: 0.7265838623046875
Error: 0.0030318352166796153 Prediction: 0.7449378967285156
Error: 0.0017054073093822882 Prediction: 0.7587034225463867
Error: 0.0009592916115275371 Prediction: 0.76902756690979
Error: 0.0005396015314842384 Prediction: 0.7767706751823426
Error: 0.000303525861459885 Prediction: 0.7825780063867569
Error: 0.00017073329707118678 Prediction: 0.7869335047900676
Error: 9.603747960254256e-05 Prediction: 0.7902001285925507
Error: 5.402108227642978e-05 Prediction: 0.7926500964444131
Error: 3.038685878049206e-05 Prediction: 0.7944875723333098
Error: 1.7092608064027242e-05 Prediction: 0.7958656792499823
Error: 9.614592036015323e-06 Prediction: 0.7968992594374867
Error: 5.408208020258491e-06 Prediction: 0.7976744445781151
"""

GD_10 = """\
Error: 0.6400000000000001 Prediction: 0.0 Weight: 0.4
Error: 0.3600000000000001 Prediction: 0.2 Weight: 0.7000000000000001
Error: 0.2025 Prediction: 0.35000000000000003 Weight: 0.925
Error: 0.11390625000000001 Prediction: 0.4625 Weight: 1.09375
Error: 0.06407226562500003 Prediction: 0.546875 Weight: 1.2203125
Error: 0.036040649414062535 Prediction: 0.61015625 Weight: 1.315234375
Error: 0.020272865295410177 Prediction: 0.6576171875 Weight: 1.38642578125
Error: 0.011403486728668217 Prediction: 0.693212890625 Weight: 1.4398193359375
Error: 0.006414461284875877 Prediction: 0.71990966796875 Weight: 1.479864501953125
Error: 0.0036081344727426873 Prediction: 0.7399322509765625 Weight: 1.5098983764648437
"""

FOUR_STEPS = """\
-----
Weight:0.0
Error:0.6400000000000001 Prediction:0.0
Delta:-0.8 Weight Delta:-0.8800000000000001
-----
Weight:0.8800000000000001
Error:0.02822400000000005 Prediction:0.9680000000000002
Delta:0.16800000000000015 Weight Delta:0.1848000000000002
-----
Weight:0.6951999999999999
Error:0.0012446784000000064 Prediction:0.76472
Delta:-0.03528000000000009 Weight Delta:-0.0388080000000001
-----
Weight:0.734008
Error:5.4890317439999896e-05 Prediction:0.8074088
Delta:0.007408799999999993 Weight Delta:0.008149679999999992
"""

DIVERGENCE = """\
Error: 0.03999999999999998 Prediction: 1.0
Error: 0.3599999999999998 Prediction: 0.20000000000000018
Error: 3.2399999999999984 Prediction: 2.5999999999999996
Error: 29.159999999999986 Prediction: -4.599999999999999
Error: 262.4399999999999 Prediction: 16.999999999999996
Error: 2361.959999999998 Prediction: -47.79999999999998
Error: 21257.639999999978 Prediction: 146.59999999999994
Error: 191318.75999999983 Prediction: -436.5999999999998
Error: 1721868.839999999 Prediction: 1312.9999999999995
Error: 15496819.559999991 Prediction: -3935.799999999999
Error: 139471376.03999993 Prediction: 11810.599999999997
Error: 1255242384.3599997 Prediction: -35428.59999999999
Error: 11297181459.239996 Prediction: 106288.99999999999
Error: 101674633133.15994 Prediction: -318863.79999999993
Error: 915071698198.4395 Prediction: 956594.5999999997
Error: 8235645283785.954 Prediction: -2869780.599999999
Error: 74120807554073.56 Prediction: 8609344.999999996
Error: 667087267986662.1 Prediction: -25828031.799999986
Error: 6003785411879960.0 Prediction: 77484098.59999996
Error: 5.403406870691965e+16 Prediction: -232452292.5999999
"""

ALPHA = """\
Error: 0.03999999999999998 Prediction: 1.0
Error: 0.0144 Prediction: 0.92
Error: 0.005183999999999993 Prediction: 0.872
Error: 0.0018662400000000014 Prediction: 0.8432000000000001
Error: 0.0006718464000000028 Prediction: 0.8259200000000001
Error: 0.00024186470400000033 Prediction: 0.815552
Error: 8.70712934399997e-05 Prediction: 0.8093312
Error: 3.134566563839939e-05 Prediction: 0.80559872
Error: 1.1284439629823931e-05 Prediction: 0.803359232
Error: 4.062398266736526e-06 Prediction: 0.8020155392
Error: 1.4624633760252567e-06 Prediction: 0.8012093235200001
Error: 5.264868153690924e-07 Prediction: 0.8007255941120001
Error: 1.8953525353291194e-07 Prediction: 0.8004353564672001
Error: 6.82326912718715e-08 Prediction: 0.8002612138803201
Error: 2.456376885786678e-08 Prediction: 0.8001567283281921
Error: 8.842956788836216e-09 Prediction: 0.8000940369969153
Error: 3.1834644439835434e-09 Prediction: 0.8000564221981492
Error: 1.1460471998340758e-09 Prediction: 0.8000338533188895
Error: 4.125769919393652e-10 Prediction: 0.8000203119913337
Error: 1.485277170987127e-10 Prediction: 0.8000121871948003
"""

PURE_ERROR = """\
Prediction: 50.0
Pure error: 49.2
Direction and Amount: 4920.0
Prediction: 75.0
Pure error: 74.2
Direction and Amount: 7420.0
Prediction: -50.0
Pure error: -50.8
Direction and Amount: 5080.0
Prediction: -75.0
Pure error: -75.8
Direction and Amount: 7580.0
Prediction: 0.0
Pure error: -0.8
Direction and Amount: -0.0
Prediction: 25000.0
Pure error: 24999.2
Direction and Amount: 1249960000.0
"""


def test_ch4_error_measure_and_hot_and_cold(backend):
    with an.use(backend, dtype="float64"):
        errors = ch4.error_measure()
    assert list(errors.values()) == pytest.approx(
        [0.30250000000000005, 0.022499999999999975, 0.49000000000000027, 0.05522499999999994],
        rel=1e-9,
    )
    lines = ch4.hot_and_cold()
    assert len(lines) == 1101
    assert flat(lines[:5] + lines[-1:]) == numbers(HOT_AND_COLD_FIRST + HOT_AND_COLD_LAST)


def test_ch4_gradient_descent(backend):
    with an.use(backend, dtype="float64"):
        gd_20 = ch4.gradient_descent(0.5, 0.8, 0.5, 20)
        gd_10 = ch4.gradient_descent(0.0, 0.8, 0.5, 10)
        four = ch4.gradient_descent(0.0, 0.8, 1.1, 4)
        pure = [ch4.direction_and_amount(x, w) for x, w in ch4.PURE_ERROR_CASES]
    assert flat((s.error, s.prediction) for s in gd_20) == pytest.approx(numbers(GD_20), rel=1e-9)
    assert flat((s.error, s.prediction, s.new_weight) for s in gd_10) == pytest.approx(
        numbers(GD_10), rel=1e-9
    )
    assert flat((s.weight, s.error, s.prediction, s.delta, s.weight_delta) for s in four) == (
        pytest.approx(numbers(FOUR_STEPS), rel=1e-9)
    )
    assert flat(pure) == pytest.approx(numbers(PURE_ERROR), rel=1e-9)


def test_ch4_divergence_and_alpha(backend):
    with an.use(backend, dtype="float64"):
        diverging = ch4.gradient_descent(0.5, 0.8, 2, 20)
        cured = ch4.gradient_descent(0.5, 0.8, 2, 20, alpha=0.1)
        epoch, batch, weight = ch4.divergence()
    assert flat((s.error, s.prediction) for s in diverging) == pytest.approx(
        numbers(DIVERGENCE), rel=1e-9
    )
    assert flat((s.error, s.prediction) for s in cured) == pytest.approx(numbers(ALPHA), rel=1e-9)
    # the weight grows until the squared error overflows; DivergenceError stops there, and the
    # weight kept is the last finite one: |0.5 - 0.4| * 3**k (the miss triples each step)
    assert 100 < epoch < 1000 and batch == 0 and 1e150 < abs(weight) < np.inf


def test_ch4_main_prints(capsys, assert_printed):
    ch4.main(["numpy"])
    out = capsys.readouterr().out
    assert_printed(out, "Error: 5.403406870691965e+16 Prediction: -232452292.5999999")
    assert_printed(out, "Error: 1.485277170987127e-10 Prediction: 0.8000121871948003")


# -- ch. 5: several weights at once (seed 002's code; its output cells are empty) ---------------


def test_ch5_multiple_inputs(backend):
    with an.use(backend, dtype="float64"):
        epochs = ch5.multiple_inputs(40)
    assert flat([p, *w] for p, w in epochs[:2] + epochs[-2:]) == pytest.approx(
        [3.35, 2.66625, 9.665, 1.6665]
        + [10.4982125, 4.1537946875, 15.61517875, 2.261517875]
        + [69.10559382153679, 16.35000440190605, 64.4000176076242, 7.140001760762422]
        + [69.20151888417696, 16.36996642980163, 64.47986571920651, 7.147986571920653],
        rel=1e-9,
    )


def test_ch5_one_input_multiple_outputs(backend):
    with an.use(backend, dtype="float64"):
        step = ch5.one_input_multiple_outputs()
    expected = {
        "pred": [0.195, 0.13, 0.585],
        "error": [0.009025, 0.7569, 0.235225],
        "delta": [0.095, -0.87, 0.485],
        "weight_deltas": [[0.06175, -0.5655, 0.31525]],
        "weights": [[0.293825, 0.25655, 0.868475]],
    }
    for key, value in expected.items():
        assert np.ravel(step[key]) == pytest.approx(np.ravel(value), rel=1e-9), key


def test_ch5_multiple_inputs_outputs(backend):
    with an.use(backend, dtype="float64"):
        step = ch5.multiple_inputs_outputs()
    expected = {
        "pred": [0.915, 2.54, -2.43],
        "error": [0.664225, 2.3716, 6.4009],
        "delta": [0.815, 1.54, -2.53],
        "weight_deltas": [6.9275, 13.09, -21.505, 0.52975, 1.001, -1.6445, 0.978, 1.848, -3.036],
        "weights": [0.030725, -0.0309, -0.08495, 0.0947025, 0.18999, 0.016445]
        + [-0.00978, 1.28152, 0.13036],
        "next": [0.3549355, 1.524418, -0.624401],
    }
    for key, value in expected.items():
        assert np.ravel(step[key]) == pytest.approx(value, rel=1e-9), key


def test_ch5_main_prints(capsys, assert_printed):
    ch5.main(["numpy"])
    assert_printed(capsys.readouterr().out, "weights: [[0.293825, 0.25655, 0.868475]]")


# -- ch. 6: the streetlights (seeds 000 and 001) ------------------------------------------------

SINGLE_EXAMPLE = """\
Error: 0.03999999999999998 Prediction:-0.19999999999999996
Error: 0.025599999999999973 Prediction:-0.15999999999999992
Error: 0.01638399999999997 Prediction:-0.1279999999999999
Error: 0.010485759999999964 Prediction:-0.10239999999999982
Error: 0.006710886399999962 Prediction:-0.08191999999999977
Error: 0.004294967295999976 Prediction:-0.06553599999999982
Error: 0.002748779069439994 Prediction:-0.05242879999999994
Error: 0.0017592186044416036 Prediction:-0.04194304000000004
Error: 0.0011258999068426293 Prediction:-0.03355443200000008
Error: 0.0007205759403792803 Prediction:-0.02684354560000002
Error: 0.0004611686018427356 Prediction:-0.021474836479999926
Error: 0.0002951479051793508 Prediction:-0.01717986918399994
Error: 0.00018889465931478573 Prediction:-0.013743895347199997
Error: 0.00012089258196146188 Prediction:-0.010995116277759953
Error: 7.737125245533561e-05 Prediction:-0.008796093022207963
Error: 4.951760157141604e-05 Prediction:-0.007036874417766459
Error: 3.169126500570676e-05 Prediction:-0.0056294995342132115
Error: 2.028240960365233e-05 Prediction:-0.004503599627370569
Error: 1.298074214633813e-05 Prediction:-0.003602879701896544
Error: 8.307674973656916e-06 Prediction:-0.002882303761517324
"""

WHOLE_DATASET = """\
Error: 0.03999999999999998 Prediction:-0.19999999999999996
Error: 1.44 Prediction:-0.19999999999999996
Error: 0.31359999999999993 Prediction:-0.5599999999999999
Error: 0.14745599999999992 Prediction:0.6160000000000001
Error: 0.6842598400000001 Prediction:0.17279999999999995
Error: 0.030807270400000003 Prediction:0.17552
Error For All: 2.6561231104

Error: 0.019716653055999997 Prediction:0.14041599999999999
Error: 0.48073921463296004 Prediction:0.3066464
Error: 0.11912040471029758 Prediction:-0.34513824
Error: 4.4054335374336594e-05 Prediction:1.006637344
Error: 0.2719586253784771 Prediction:0.4785034751999999
Error: 0.07129122555848956 Prediction:0.26700416768
Error For All: 0.9628701776715985

...

Error: 5.705876310825877e-06 Prediction:-0.002388697618122871
Error: 5.2801809843946525e-06 Prediction:0.9977021355600483
Error: 0.0003218187196733748 Prediction:-0.01793930655497516
Error: 0.00026288646758276113 Prediction:1.0162137740080082
Error: 1.0805129612468648e-05 Prediction:0.9967128843019345
Error: 7.847193319322342e-06 Prediction:-0.0028012842268006904
Error For All: 0.0006143435674831474

Error: 5.022203724366299e-06 Prediction:-0.0022410273814405524
Error: 4.517586152808343e-06 Prediction:0.9978745386023716
Error: 0.00027960068413413554 Prediction:-0.016721264429884947
Error: 0.00022839509133955668 Prediction:1.0151127459893812
Error: 9.307331052303591e-06 Prediction:0.9969492081270097
Error: 6.893876881709479e-06 Prediction:-0.0026256193329783125
Error For All: 0.00053373677328488
"""

PREDICTION = {  # "Let's break it down step by step" (the weights drawn a second time)
    "weights_0_1": [[-0.1653904, 0.11737966, -0.71922612, -0.60379702],
                    [0.60148914, 0.93652315, -0.37315164, 0.38464523],
                    [0.7527783, 0.78921333, -0.82991158, -0.92189043]],
    "weights_1_2": [[-0.66033916], [0.75628501], [-0.80330633], [-0.15778475]],
    "layer_1": [0.58738791, 0.90659298, -0.0, -0.0],
    "layer_2": [0.29776744],
}  # fmt: skip
ONE_ITERATION = {  # "One iteration of backprop", hidden size 3
    "layer_1": [[-0.0, 0.13177044, -0.0]],
    "layer_2": [[-0.02129555]],
    "layer_2_delta": [[-1.02129555]],
    "weight_delta_1_2": [[0.0], [-0.13457656], [0.0]],
    "weight_delta_0_1": [[0.0, 0.16505257, 0.0], [0.0, 0.0, 0.0], [0.0, 0.16505257, 0.0]],
    "weights_1_2": [[0.07763347], [-0.13469566], [0.370439]],
    "weights_0_1": [[-0.16595599, 0.40763847, -0.99977125],
                    [-0.39533485, -0.70648822, -0.81532281],
                    [-0.62747958, -0.34188906, -0.20646505]],
}  # fmt: skip


def test_ch6_one_streetlight_and_the_whole_dataset(backend):
    with an.use(backend, dtype="float64"):
        single = ch6.single_example(20)
        runs, weights = ch6.whole_dataset(40)
    assert flat(single) == pytest.approx(numbers(SINGLE_EXAMPLE), rel=1e-9)
    lines = WHOLE_DATASET.splitlines()
    rows = [
        numbers(line) for line in lines if line.startswith("Error: ")
    ]  # iterations 1, 2, 39, 40
    shown = [runs[i] for i in (0, 1, 38, 39)]
    assert flat(row for run in shown for row in run) == pytest.approx(flat(rows), rel=1e-9)
    error_for_all = [numbers(line)[0] for line in lines if line.startswith("Error For All")]
    assert [sum(e for e, _ in run) for run in shown] == pytest.approx(error_for_all, rel=1e-9)
    # seed 001's figure of the learned weights: ".01  1.0  -.0"
    assert abs(weights[0] - 0.01) <= 0.005 and abs(weights[1] - 1.0) <= 0.05
    assert abs(weights[2]) <= 0.05


def test_ch6_the_same_pattern_at_any_scale(backend):
    with an.use(backend, dtype="float64"):
        learned = ch6.same_pattern()
    dimmer = learned[1]
    assert dimmer[1] > 1 and dimmer[0] < 0 < dimmer[2]  # the middle light correlates
    for k, w in learned.items():
        assert np.sign(w).tolist() == np.sign(dimmer).tolist(), k
        assert np.argsort(w).tolist() == [0, 2, 1], k
        assert w == pytest.approx(dimmer, abs=0.02), k


def test_ch6_relu_network_prediction_and_one_backprop_iteration(backend):
    with an.use(backend, dtype="float64"):
        prediction = ch6.making_a_prediction()
        iteration = ch6.one_backprop_iteration()
    for key, value in PREDICTION.items():
        assert np.ravel(prediction[key]) == pytest.approx(np.ravel(value), **printed(8)), key
    for key, value in ONE_ITERATION.items():
        assert np.ravel(iteration[key]) == pytest.approx(np.ravel(value), **printed(8)), key
    assert iteration["layer_2_error"] == pytest.approx(1.0430445982842722, rel=1e-9)


def test_ch6_full_minibatch_stochastic(backend):
    with an.use(backend, dtype="float64"):
        errors = ch6.modes(epochs=60)
    # more updates per epoch, lower error after the same 60 epochs, from the same weights
    assert errors["initial"] > errors["full"] > errors["minibatch"] > errors["stochastic"]
    assert errors["stochastic"] < 1e-6


def test_ch6_main_prints(capsys, assert_printed):
    ch6.main(["numpy"])
    out = capsys.readouterr().out
    assert_printed(out, "Error: 8.307674973656916e-06 Prediction:-0.002882303761517324")
    assert_printed(out, "Error For All: 0.00053373677328488\n")
    assert_printed(out, "Error:1.5055622665134859e-05")


# -- "Neural Network From Scratch" (seed 003) ---------------------------------------------------


def test_scratch_forward_pass(backend):
    with an.use(backend, dtype="float64"):
        values = scratch.forward()
    assert values["X @ W"].tolist() == [5, 11, 17]
    assert values["A1"] == pytest.approx([0.3, 0.7, 1.1], rel=1e-9)
    assert values["Z1"] == pytest.approx([0.57444252, 0.66818777, 0.75026011], **printed(8))
    assert values["Z2"] == pytest.approx([0.21198272, 0.31624106, 0.47177622], **printed(8))


def test_scratch_losses(backend):
    with an.use(backend, dtype="float64"):
        values = scratch.sample_losses()
    assert values["squared_error"] == pytest.approx(0.09750000000000003, rel=1e-9)
    assert values["mse"] == pytest.approx(0.0975 / 5, rel=1e-9)  # mean over the 10, not ½Σ
    assert values["notebook cross_entropy_error"] == pytest.approx(0.510825457099338, rel=1e-9)
    # arraynet clips at machine epsilon instead of adding 1e-7: exactly -log(0.6)
    assert values["categorical_cross_entropy"] == pytest.approx(-np.log(0.6), rel=1e-12)


def test_scratch_numerical_derivatives():
    values = scratch.derivatives()
    assert values["d fun_1 at 5"] == pytest.approx(0.1999999999990898, rel=1e-9)
    assert values["d fun_1 at 10"] == pytest.approx(0.2999999999986347, rel=1e-9)
    assert values["d/dx0 at (3, 4)"] == pytest.approx(6.00000000000378, rel=1e-9)
    assert values["d/dx1 at (3, 4)"] == pytest.approx(7.999999999999119, rel=1e-9)
    assert values["gradient at (3, 4)"] == pytest.approx([6.00000000000378, 7.999999999999119])


def test_scratch_backprop_agrees_with_the_numerical_gradient(backend):
    with an.use(backend, dtype="float64"):
        backprop, numerical = scratch.gradient_check()
    for b, n in zip(backprop, numerical, strict=True):
        assert b.shape == n.shape
        assert b == pytest.approx(n, abs=1e-8)


def test_scratch_main_prints(capsys, assert_printed):
    scratch.main(["numpy"])
    out = capsys.readouterr().out
    assert_printed(out, "Z1: [0.57444252 0.66818777 0.75026011]")
    assert_printed(out, "squared_error: 0.09750000000000003")
    assert_printed(out, "notebook cross_entropy_error: 0.510825457099338")
    assert_printed(out, "categorical_cross_entropy: 0.5108256237659907")
