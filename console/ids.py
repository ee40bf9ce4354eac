"""Every Dash component id the console uses: string ids, and builders for the dict ids.

Browser tests and the wired-callback tests select elements by these strings, so a value here
never changes without them. Dict ids carry a ``type`` and are matched with ``MATCH``/``ALL``.
"""

from __future__ import annotations

from dash.dependencies import Wildcard

Key = str | Wildcard
DictId = dict[str, Key]

# App shell and header (console/app.py, console/header.py)
ADMIN_TOKEN = "admin-token"
REFRESH = "refresh"
WORKER_BANNER = "worker-banner"
TOKEN_INPUT = "token-input"
TOKEN_SAVE = "token-save"
TOKEN_FORGET = "token-forget"
TOKEN_STATUS = "token-status"
WORKER_BANNER_SHOWN = "worker-banner-shown"

# Overview page
OVERVIEW_WORKER = "overview-worker"
OVERVIEW_MESSAGE = "overview-message"
OVERVIEW_WINDOW = "overview-window"
OVERVIEW_ANSWERS_BY_RULE = "overview-answers-by-rule"
OVERVIEW_THROUGHPUT = "overview-throughput"
OVERVIEW_OUTCOME_RATES = "overview-outcome-rates"
OVERVIEW_RULES_OVER_TIME = "overview-rules-over-time"
OVERVIEW_E2E_LATENCY = "overview-e2e-latency"

# Models page
MODELS_DATA = "models-data"
MODELS_NAMES = "models-names"
MODELS_CHANGED = "models-changed"
MODELS_MESSAGE = "models-message"
MODELS_FEEDBACK = "models-feedback"
MODELS_TABLE = "models-table"
MODELS_GRID = "models-grid"
MODELS_HISTORY = "models-history"
MODELS_HISTORY_TABLE = "models-history-table"
MODELS_SHOWN = "models-shown"
MODELS_PENDING = "models-pending"
MODELS_CONFIRM = "models-confirm"
MODELS_CONFIRM_TEXT = "models-confirm-text"
MODELS_CONFIRM_YES = "models-confirm-yes"
MODELS_CONFIRM_NO = "models-confirm-no"

# Latency page
LATENCY_WINDOW = "latency-window"
LATENCY_METRIC = "latency-metric"
LATENCY_MODELS = "latency-models"
LATENCY_MESSAGE = "latency-message"
LATENCY_QUANTILES = "latency-quantiles"
LATENCY_DISTRIBUTION = "latency-distribution"
LATENCY_SHOWN = "latency-shown"

# Agreement page
AGREEMENT_WINDOW = "agreement-window"
AGREEMENT_MESSAGE = "agreement-message"
AGREEMENT_HEATMAP = "agreement-heatmap"
AGREEMENT_QQ = "agreement-qq"
AGREEMENT_SHOWN = "agreement-shown"

# Requests page
REQUESTS_RULE = "requests-rule"
REQUESTS_STATUS = "requests-status"
REQUESTS_MODEL = "requests-model"
REQUESTS_MESSAGE = "requests-message"
REQUESTS_TABLE = "requests-table"
REQUESTS_GRID = "requests-grid"
REQUESTS_SHOWN = "requests-shown"
REQUESTS_LATEST = "requests-latest"

# Request inspector
INSPECT_SELECTED = "inspect-selected"
INSPECT_REQUEST_ID = "inspect-request-id"
INSPECT_SUBMIT = "inspect-submit"
INSPECT_MESSAGE = "inspect-message"
INSPECT_SUMMARY = "inspect-summary"
INSPECT_TIMELINE = "inspect-timeline"
INSPECT_SCORES = "inspect-scores"
INSPECT_SCORES_TABLE = "inspect-scores-table"
INSPECT_STATUS = "inspect-status"
INSPECT_RULE = "inspect-rule"
INSPECT_MODEL = "inspect-model"
INSPECT_PAYLOAD = "inspect-payload"
INSPECT_PAYLOAD_BOX = "inspect-payload-box"
INSPECT_SHOWN = "inspect-shown"

# Types of the models table's dict ids (the ``type`` key)
MODEL_CELL = "model-cell"
MODEL_ACTION = "model-action"
MODEL_PRIORITY = "model-priority"
MODEL_PRIORITY_APPLY = "model-priority-apply"
MODEL_BACKSTOP = "model-backstop"


def overview_tile(key: str) -> str:
    """The id of an overview number, e.g. ``deadline_misses`` -> ``overview-deadline-misses``."""
    return "overview-" + key.replace("_", "-")


def model_cell(model: Key, field: Key) -> DictId:
    """One models-table cell, refreshed in place on every tick."""
    return {"type": MODEL_CELL, "model": model, "field": field}


def model_action(model: Key, action: Key) -> DictId:
    """A model's state button (``action`` is the target state: live, shadow or off)."""
    return {"type": MODEL_ACTION, "model": model, "action": action}


def model_priority(model: Key) -> DictId:
    """A model's priority input."""
    return {"type": MODEL_PRIORITY, "model": model}


def model_priority_apply(model: Key) -> DictId:
    """The button that sends a model's typed priority."""
    return {"type": MODEL_PRIORITY_APPLY, "model": model}


def model_backstop(model: Key) -> DictId:
    """A model's backstop toggle."""
    return {"type": MODEL_BACKSTOP, "model": model}
