"""The OIP mapping: payloads <-> tensors both ways, with clear errors for bad shapes and types."""

from __future__ import annotations

from typing import Any

import pytest

from streamapp.core.oip import InputSpec, MappingError, OipMapping, OutputSpec, parse_mapping
from streamapp.core.oip_front import outputs_from_results, payloads_from_inputs
from streamapp.core.oip_requests import decode_outputs, encode_inputs, infer_body
from streamapp.core.oip_tensors import TensorError, tensor_rows

ORDER = ("worst radius", "worst texture", "worst concave points")


def features(radius: float = 12.0, texture: float = 18.0, points: float = 0.06) -> dict[str, Any]:
    return {
        "features": {
            "worst radius": radius,
            "worst texture": texture,
            "worst concave points": points,
        }
    }


# --- payloads -> input tensors -------------------------------------------------------------


def test_default_mapping_sends_each_feature_as_a_named_fp64_input_one_row_per_request() -> None:
    tensors = encode_inputs(OipMapping(), [features(12.0), features(25, 31.2, 0.2)])
    assert tensors == [
        {"name": "worst radius", "shape": [2, 1], "datatype": "FP64", "data": [12.0, 25]},
        {"name": "worst texture", "shape": [2, 1], "datatype": "FP64", "data": [18.0, 31.2]},
        {"name": "worst concave points", "shape": [2, 1], "datatype": "FP64", "data": [0.06, 0.2]},
    ]


def test_a_declared_feature_order_makes_one_fp64_tensor_of_n_rows() -> None:
    mapping = parse_mapping({"features": list(reversed(ORDER))})
    tensors = encode_inputs(mapping, [features(1, 2, 3), features(4, 5, 6)])
    assert tensors == [
        {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": [3, 2, 1, 6, 5, 4]}
    ]


def test_an_input_may_take_a_list_or_a_scalar_anywhere_in_the_payload() -> None:
    mapping = parse_mapping(
        {
            "inputs": [
                {"name": "pixels", "datatype": "INT32", "path": "image.pixels", "shape": [2, 2]},
                {"name": "lang", "datatype": "BYTES", "path": ["meta", "lang"]},
            ]
        }
    )
    payload = {"image": {"pixels": [[1, 2], [3, 4]]}, "meta": {"lang": "en"}}
    assert encode_inputs(mapping, [payload]) == [
        {"name": "pixels", "shape": [1, 2, 2], "datatype": "INT32", "data": [1, 2, 3, 4]},
        {"name": "lang", "shape": [1, 1], "datatype": "BYTES", "data": ["en"]},
    ]


def test_the_infer_body_asks_for_the_declared_output_tensors_and_carries_parameters() -> None:
    mapping = parse_mapping(
        {
            "features": list(ORDER),
            "outputs": [
                {"field": "score", "tensor": "predict_proba", "index": 1},
                {
                    "field": "label",
                    "tensor": "predict",
                    "labels": {"0": "benign", "1": "malignant"},
                },
                {"field": "p", "tensor": "predict_proba"},
            ],
            "parameters": {"content_type": "np"},
        }
    )
    body = infer_body(mapping, [features()], request_id="r1")
    assert body["id"] == "r1"
    assert body["outputs"] == [{"name": "predict_proba"}, {"name": "predict"}]
    assert body["parameters"] == {"content_type": "np"}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({}, "payload has no 'features' (input 'input-0')"),
        ({"features": [1, 2, 3]}, "payload.features must be an object with 3 field(s)"),
        (
            {"features": {"worst radius": 1}},
            "payload.features lacks 2 field(s), e.g. 'worst texture'",
        ),
        (
            {"features": {"worst radius": "12", "worst texture": 1, "worst concave points": 2}},
            "payload.features must hold a finite number for FP64, got str '12'",
        ),
        (
            {"features": {"worst radius": True, "worst texture": 1, "worst concave points": 2}},
            "got bool True",
        ),
        (
            {"features": {"worst radius": None, "worst texture": 1, "worst concave points": 2}},
            "got null None",
        ),
    ],
)
def test_a_payload_that_does_not_fit_names_the_path_and_the_input(
    payload: dict[str, Any], problem: str
) -> None:
    with pytest.raises(TensorError) as raised:
        encode_inputs(OipMapping.feature_vector(ORDER), [payload])
    assert problem in str(raised.value)


def test_rows_of_different_shapes_in_one_batch_are_refused_naming_the_payload() -> None:
    mapping = OipMapping(inputs=(InputSpec("v", "FP32", ("v",)),))
    with pytest.raises(
        TensorError,
        match=r"payload 1 of the batch: payload.v has shape \[3\] but payload 0's has \[2\]",
    ):
        encode_inputs(mapping, [{"v": [1, 2]}, {"v": [1, 2, 3]}])


def test_a_ragged_list_and_a_declared_shape_that_does_not_match_are_refused() -> None:
    with pytest.raises(TensorError, match=r"payload\.v is ragged"):
        encode_inputs(OipMapping(inputs=(InputSpec("v", "FP64", ("v",)),)), [{"v": [[1], [1, 2]]}])
    declared = OipMapping(inputs=(InputSpec("v", "FP64", ("v",), shape=(4,)),))
    with pytest.raises(TensorError, match=r"payload.v has shape \[2\]; the input declares \[4\]"):
        encode_inputs(declared, [{"v": [1, 2]}])


def test_integers_out_of_range_and_floats_for_an_integer_input_are_refused() -> None:
    mapping = OipMapping(inputs=(InputSpec("n", "UINT8", ("n",)),))
    with pytest.raises(TensorError, match=r"an integer in 0..255 for UINT8, got int 300"):
        encode_inputs(mapping, [{"n": 300}])
    with pytest.raises(TensorError, match=r"got float 1\.5"):
        encode_inputs(mapping, [{"n": 1.5}])


def test_named_inputs_need_the_same_features_in_every_request_of_a_batch() -> None:
    with pytest.raises(TensorError, match="payload 1 of the batch has other features"):
        encode_inputs(OipMapping(), [features(), {"features": {"worst radius": 1.0}}])


# --- output tensors -> results ---------------------------------------------------------------


def sklearn_response(rows: int) -> dict[str, Any]:
    return {
        "model_name": "forest",
        "outputs": [
            {"name": "predict", "shape": [rows], "datatype": "INT64", "data": [1, 0][:rows]},
            {
                "name": "predict_proba",
                "shape": [rows, 2],
                "datatype": "FP64",
                "data": [0.1, 0.9, 0.8, 0.2][: 2 * rows],
            },
        ],
    }


def test_declared_outputs_pick_an_element_and_name_a_label_per_request() -> None:
    mapping = parse_mapping(
        {
            "features": list(ORDER),
            "outputs": [
                {
                    "field": "label",
                    "tensor": "predict",
                    "labels": {"0": "benign", "1": "malignant"},
                },
                {"field": "score", "tensor": "predict_proba", "index": 1},
            ],
        }
    )
    assert decode_outputs(mapping, sklearn_response(2), 2) == [
        {"label": "malignant", "score": 0.9},
        {"label": "benign", "score": 0.2},
    ]


def test_without_declared_outputs_every_tensor_becomes_a_field_of_its_row() -> None:
    assert decode_outputs(OipMapping(), sklearn_response(2), 2) == [
        {"predict": 1, "predict_proba": [0.1, 0.9]},
        {"predict": 0, "predict_proba": [0.8, 0.2]},
    ]


def test_a_lone_row_may_come_back_without_its_batch_dimension() -> None:
    response = {"outputs": [{"name": "y", "shape": [2], "datatype": "FP32", "data": [0.25, 0.75]}]}
    assert decode_outputs(OipMapping(), response, 1) == [{"y": [0.25, 0.75]}]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ({"error": "boom"}, "the OIP response has no outputs list"),
        (
            {"outputs": [{"name": "y", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]}]},
            "output 'y' has 3 row(s) for a batch of 2",
        ),
        (
            {"outputs": [{"name": "y", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}]},
            "output 'y' has 3 value(s) for shape [2, 2]",
        ),
        (
            {"outputs": [{"name": "y", "shape": [2], "datatype": "INT64", "data": [1, "x"]}]},
            "output 'y' must hold an integer",
        ),
        (
            {"outputs": [{"name": "y", "shape": "2", "datatype": "FP64", "data": [1, 2]}]},
            "output 'y': shape must be a list of non-negative integers",
        ),
    ],
)
def test_a_response_that_does_not_fit_the_batch_names_the_tensor(
    response: dict[str, Any], problem: str
) -> None:
    with pytest.raises(TensorError) as raised:
        decode_outputs(OipMapping(), response, 2)
    assert problem in str(raised.value)


def test_a_declared_output_missing_from_the_response_or_an_unnamed_label_is_an_error() -> None:
    wants_proba = OipMapping(outputs=(OutputSpec("score", "proba", index=1),))
    with pytest.raises(TensorError, match="the OIP response has no output 'proba'"):
        decode_outputs(wants_proba, sklearn_response(1), 1)
    labels = OipMapping(outputs=(OutputSpec("label", "predict", labels={"0": "benign"}),))
    with pytest.raises(TensorError, match="output 'predict' row 0 is 1, which the labels"):
        decode_outputs(labels, sklearn_response(1), 1)


def test_nested_data_in_a_response_is_read_row_major() -> None:
    tensor = {"name": "y", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3, 4]]}
    assert tensor_rows(tensor, 2, "output 'y'") == [[1, 2], [3, 4]]


# --- the REST front: input tensors -> payloads, results -> output tensors --------------------


def test_named_input_tensors_become_the_features_of_one_payload_per_row() -> None:
    inputs = encode_inputs(OipMapping(), [features(1, 2, 3), features(4, 5, 6)])
    assert payloads_from_inputs(None, inputs) == [features(1, 2, 3), features(4, 5, 6)]


def test_a_declared_mapping_reads_its_tensor_back_into_the_payload() -> None:
    mapping = OipMapping.feature_vector(ORDER)
    inputs = encode_inputs(mapping, [features(1, 2, 3)])
    assert payloads_from_inputs(mapping, inputs) == [features(1, 2, 3)]


def test_a_payload_input_carries_whole_json_payloads() -> None:
    inputs = [{"name": "payload", "shape": [1], "datatype": "BYTES", "data": ['{"text": "hi"}']}]
    assert payloads_from_inputs(None, inputs) == [{"text": "hi"}]


@pytest.mark.parametrize(
    ("mapping", "inputs", "problem"),
    [
        (None, [], "inputs must be a non-empty list of tensors"),
        (
            None,
            [{"shape": [1], "datatype": "FP64", "data": [1]}],
            "inputs[0] must be a tensor with a name",
        ),
        (
            None,
            [{"name": "a", "shape": [1, 1], "datatype": "FP64", "data": [1, 2]}],
            "input 'a' has 2 value(s) for shape [1, 1]",
        ),
        (
            None,
            [
                {"name": "a", "shape": [2, 1], "datatype": "FP64", "data": [1, 2]},
                {"name": "b", "shape": [3, 1], "datatype": "FP64", "data": [1, 2, 3]},
            ],
            "input 'b' has 3 row(s) for a batch of 2",
        ),
        (
            None,
            [{"name": "payload", "shape": [1], "datatype": "BYTES", "data": ["[1]"]}],
            "input 'payload' row 0 must be a JSON object",
        ),
        (
            OipMapping.feature_vector(ORDER),
            [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}],
            "input 'input-0' is missing",
        ),
        (
            OipMapping.feature_vector(ORDER),
            [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}],
            "input 'input-0' row 0 has 2 value(s); the mapping names 3 field(s)",
        ),
        (
            OipMapping.feature_vector(ORDER),
            [{"name": "input-0", "shape": [1, 3], "datatype": "BYTES", "data": ["a", "b", "c"]}],
            "input 'input-0' is BYTES, the mapping needs FP64",
        ),
    ],
)
def test_input_tensors_that_do_not_fit_are_refused_by_name(
    mapping: OipMapping | None, inputs: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(TensorError) as raised:
        payloads_from_inputs(mapping, inputs)
    assert problem in str(raised.value)


def test_results_become_typed_output_tensors_one_row_per_result() -> None:
    outputs = outputs_from_results(
        [
            {
                "label": "malignant",
                "score": 0.9,
                "votes": 3,
                "flag": True,
                "p": [0.1, 0.9],
                "x": {"a": 1},
            },
            {
                "label": "benign",
                "score": 0.2,
                "votes": 1,
                "flag": False,
                "p": [0.8, 0.2],
                "x": {"a": 2},
            },
        ]
    )
    assert outputs == [
        {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["malignant", "benign"]},
        {"name": "score", "datatype": "FP64", "shape": [2], "data": [0.9, 0.2]},
        {"name": "votes", "datatype": "INT64", "shape": [2], "data": [3, 1]},
        {"name": "flag", "datatype": "BOOL", "shape": [2], "data": [True, False]},
        {"name": "p", "datatype": "FP64", "shape": [2, 2], "data": [0.1, 0.9, 0.8, 0.2]},
        {
            "name": "x",
            "datatype": "BYTES",
            "shape": [2],
            "data": ['{"a":1}', '{"a":2}'],
            "parameters": {"content_type": "json"},
        },
    ]


def test_output_tensors_read_back_as_the_results_they_came_from() -> None:
    results = [{"label": "malignant", "score": 0.9}, {"label": "benign", "score": 0.2}]
    response = {"outputs": outputs_from_results(results)}
    assert decode_outputs(OipMapping(), response, 2) == results


def test_a_row_without_a_result_leaves_no_outputs() -> None:
    assert outputs_from_results([{"score": 1.0}, None]) == []


# --- declarations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([], "an OIP mapping must be a JSON object"),
        ({"inputs": []}, "mapping.inputs must be a non-empty list"),
        ({"features": ["a", "a"]}, "mapping.features names a key twice"),
        ({"features": ["a"], "inputs": [{"name": "x"}]}, "either inputs or features"),
        (
            {"inputs": [{"name": "x", "datatype": "FLOAT"}]},
            "mapping.inputs[0].datatype 'FLOAT' is not an OIP datatype",
        ),
        (
            {"inputs": [{"name": "x", "shape": [2, -2]}]},
            "mapping.inputs[0].shape must be a list of sizes",
        ),
        ({"inputs": [{"name": "x"}, {"name": "x"}]}, "mapping.inputs names a tensor twice"),
        ({"outputs": [{"field": "s"}]}, "mapping.outputs[0].tensor must be a non-empty string"),
        ({"outputs": [{"field": "s", "tensor": "t", "index": -1}]}, "index must be a non-negative"),
        ({"max_batch": 0}, "mapping.max_batch must be an integer >= 1"),
        ({"feature": ["a"]}, "mapping has unknown key(s) ['feature']"),
    ],
)
def test_an_invalid_mapping_is_refused_naming_the_part(raw: Any, problem: str) -> None:
    with pytest.raises(MappingError) as raised:
        parse_mapping(raw)
    assert problem in str(raised.value)


def test_an_empty_mapping_is_the_default() -> None:
    assert parse_mapping({}) == OipMapping()
