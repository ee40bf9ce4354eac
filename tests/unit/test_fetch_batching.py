"""Consumers fetch at once while they read little, in batches while they read a lot, and a
change of shape reaches a running aiokafka consumer's fetcher."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.protocol.fetch import FetchRequest, FetchRequest_v4
from aiokafka.structs import TopicPartition

from streamapp.core.batching import (
    BATCH_MIN_BYTES,
    AdaptiveFetch,
    FetchShape,
    fixed_call_cost,
    whole_fetch_wait_ms,
)
from streamapp.fetch_tuning import (
    REVIEW_EVERY_S,
    FetchTuner,
    hold_whole_fetches,
    model_fetch,
    worker_fetch,
)
from streamapp.settings import Settings

AT_ONCE = FetchShape(max_wait_ms=100, min_bytes=1)
POLICY = AdaptiveFetch(at_once=AT_ONCE, batch_wait_ms=10, batch_above_per_s=150)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeFetcher:
    _fetch_max_wait_ms = 0
    _fetch_min_bytes = 0


class FakeConsumer:
    """The two attributes aiokafka's consumer and fetcher read when they build a fetch."""

    def __init__(self, fetcher: FakeFetcher | None = None) -> None:
        self._fetch_max_wait_ms = 0
        self._fetch_min_bytes = 0
        self._fetcher = fetcher


def test_a_consumer_reading_little_fetches_at_once_and_one_reading_a_lot_in_batches() -> None:
    assert not POLICY.should_batch(False, 149.0)
    assert POLICY.should_batch(False, 150.0)
    assert POLICY.shape(False) == AT_ONCE
    assert POLICY.shape(True) == FetchShape(max_wait_ms=10, min_bytes=BATCH_MIN_BYTES)


def test_a_rate_hovering_at_the_threshold_does_not_switch_back_and_forth() -> None:
    assert POLICY.should_batch(True, 100.0)  # batching: stays so down to half the threshold
    assert not POLICY.should_batch(True, 74.0)
    assert not POLICY.should_batch(False, 100.0)


def test_a_threshold_of_zero_batches_always_even_when_idle() -> None:
    always = AdaptiveFetch(at_once=AT_ONCE, batch_wait_ms=5, batch_above_per_s=0)
    assert always.starts_batched()
    assert always.should_batch(False, 0.0)
    assert not POLICY.starts_batched()


def test_the_tuner_switches_its_consumers_by_the_rate_since_its_last_review() -> None:
    clock = Clock()
    fetcher = FakeFetcher()
    consumer = FakeConsumer(fetcher)
    tuner = FetchTuner(POLICY, label="test", clock=clock)
    tuner.attach(consumer)
    assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (100, 1)

    tuner.read(75)
    clock.now += REVIEW_EVERY_S / 2
    tuner.review()  # too soon: nothing measured
    assert not tuner.batching
    clock.now += REVIEW_EVERY_S / 2
    tuner.review()  # a burst is seen within a fraction of a second
    assert tuner.batching
    assert tuner.rate_per_s == 75 / REVIEW_EVERY_S
    assert (fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes) == (10, BATCH_MIN_BYTES)

    clock.now += 2.0  # idle for two seconds: back to fetching at once
    tuner.review()
    assert not tuner.batching
    assert (fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes) == (100, 1)
    assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (100, 1)


def test_a_consumer_attached_while_batching_starts_batched() -> None:
    clock = Clock()
    tuner = FetchTuner(POLICY, label="test", clock=clock)
    tuner.read(500)
    clock.now += 1.0
    tuner.review()
    late = tuner.attach(FakeConsumer())
    assert late._fetch_max_wait_ms == 10


def test_only_a_fetch_at_once_listing_every_partition_read_waits_the_idle_wait() -> None:
    read = {("requests", p) for p in range(4)}
    changelogs = {("mailboxes-changelog", p) for p in range(4)}

    def wait(shape_ms: int, min_bytes: int, listed: set[tuple[str, int]], off: int = 500) -> int:
        return whole_fetch_wait_ms(shape_ms, min_bytes, listed=listed, read=read, whole_wait_ms=off)

    assert wait(10, 1, read) == 500
    # partitions the application does not read (paused changelogs) may be left out
    assert wait(10, 1, read | changelogs) == 500
    # a partition it reads left out (its records still being handed over): nothing new would
    # be fetched for it while this one is held
    assert wait(10, 1, read - {("requests", 2)}) == 10
    assert wait(3, BATCH_MIN_BYTES, read) == 3  # a batching fetch gathers for its own wait
    assert wait(10, 1, read, off=0) == 10  # off
    assert wait(1000, 1, read) == 1000
    assert whole_fetch_wait_ms(10, 1, listed=read, read=set(), whole_wait_ms=500) == 10


class ActionsFetcher:
    """What aiokafka's fetcher does that ``hold_whole_fetches`` relies on: it builds its fetch
    requests (node, FetchRequest) first in what ``_get_actions_per_node`` returns, with the
    wait and size it holds."""

    def __init__(self, listed: list[TopicPartition]) -> None:
        self._fetch_max_wait_ms = 10
        self._fetch_min_bytes = 1
        self.listed = listed

    def _get_actions_per_node(self, assignment: object) -> tuple[object, ...]:
        by_topic: dict[str, list[tuple[int, int, int]]] = {}
        for tp in self.listed:
            by_topic.setdefault(tp.topic, []).append((tp.partition, 0, 1 << 20))
        request = FetchRequest(
            self._fetch_max_wait_ms, self._fetch_min_bytes, 50 << 20, 0, list(by_topic.items())
        )
        return ([(0, request)], {}, 0.1, False, [])


class Assigned:
    def __init__(self, tps: set[TopicPartition]) -> None:
        self.tps = tps


def wire_wait(fetcher: ActionsFetcher, assigned: set[TopicPartition]) -> int:
    """The wait the broker is sent for the fetch this fetcher builds next."""
    requests = fetcher._get_actions_per_node(Assigned(assigned))[0]
    (_, request), *_ = requests  # type: ignore[misc]
    built = request.build(FetchRequest_v4)
    return int(built.max_wait_time)


def test_a_fetch_listing_all_partitions_waits_long_and_one_leaving_some_out_does_not() -> None:
    assigned = {TopicPartition(t, p) for t in ("requests", "scores") for p in range(4)}
    fetcher = ActionsFetcher(sorted(assigned))
    assert wire_wait(fetcher, assigned) == 10
    hold_whole_fetches(fetcher, 500)
    hold_whole_fetches(fetcher, 500)  # once per fetcher
    assert wire_wait(fetcher, assigned) == 500
    fetcher.listed = sorted(assigned)[1:]
    assert wire_wait(fetcher, assigned) == 10
    fetcher.listed = sorted(assigned)
    fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes = 3, BATCH_MIN_BYTES  # batching
    assert wire_wait(fetcher, assigned) == 3


def test_partitions_assigned_but_not_read_do_not_keep_the_wait_short() -> None:
    streams = {TopicPartition(t, p) for t in ("requests", "scores") for p in range(4)}
    changelogs = {TopicPartition("mailboxes-changelog", p) for p in range(4)}
    read: set[TopicPartition] = set(streams)
    fetcher = ActionsFetcher(sorted(streams))  # the changelogs' records wait, unread
    hold_whole_fetches(fetcher, 500, lambda assigned: read)
    assert wire_wait(fetcher, streams | changelogs) == 500
    read.add(TopicPartition("mailboxes-changelog", 0))  # recovering: read it after all
    assert wire_wait(fetcher, streams | changelogs) == 10


def test_the_tuner_gives_a_started_consumer_the_long_wait_at_its_next_review() -> None:
    clock = Clock()
    policy = AdaptiveFetch(
        at_once=AT_ONCE, batch_wait_ms=10, batch_above_per_s=150, whole_wait_ms=500
    )
    consumer = FakeConsumer()  # not started: no fetcher yet
    tuner = FetchTuner(policy, label="test", clock=clock)
    assigned = {TopicPartition("requests", p) for p in range(2)}
    changelog = {TopicPartition("changelog", 0)}
    tuner.attach(consumer, lambda _: assigned)
    fetcher = ActionsFetcher(sorted(assigned))
    consumer._fetcher = fetcher  # type: ignore[assignment]  # started
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert wire_wait(fetcher, assigned | changelog) == 500


def test_aiokafka_still_builds_each_fetch_from_the_attributes_the_tuner_sets() -> None:
    # an aiokafka upgrade that renamed them would silently leave every consumer unbatched
    consumer_init = inspect.getsource(AIOKafkaConsumer.__init__)
    fetch_request = inspect.getsource(Fetcher._get_actions_per_node)
    for name in ("self._fetch_max_wait_ms", "self._fetch_min_bytes"):
        assert name in consumer_init
        assert name in fetch_request
    # and returns its fetch requests first, each listing its partitions by topic
    assert "return (\n            fetch_requests," in fetch_request
    assert "_max_wait_ms" in inspect.getsource(FetchRequest.__init__)


def test_settings_give_the_worker_and_the_models_their_own_waits() -> None:
    settings = Settings(
        fetch_max_wait_ms=10,
        batch_fetch_wait_ms=3,
        model_fetch_max_wait_ms=100,
        model_batch_fetch_wait_ms=20,
        batch_above_per_s=0,
        worker_batch_above_per_s=0,
    )
    assert worker_fetch(settings).shape(True).max_wait_ms == 3
    assert worker_fetch(settings).shape(False) == FetchShape(10, 1)
    assert model_fetch(settings).shape(True).max_wait_ms == 20
    assert model_fetch(settings).starts_batched()
    assert worker_fetch(settings).whole_wait_ms == model_fetch(settings).whole_wait_ms == 500
    assert worker_fetch(Settings(idle_fetch_wait_ms=0)).whole_wait_ms == 0


def test_the_worker_keeps_fetching_at_once_at_rates_where_the_models_batch() -> None:
    # at 200 requests/s with two model processes the worker reads about 600 messages/s and
    # each model process 200/s: the models batch, the worker (whose wait is added latency) not
    settings = Settings()
    worker, model = worker_fetch(settings), model_fetch(settings)
    assert not worker.should_batch(False, 600.0)
    assert model.should_batch(False, 200.0)
    assert worker.should_batch(False, 1200.0)
    custom = Settings(batch_above_per_s=50, worker_batch_above_per_s=300)
    assert worker_fetch(custom).batch_above_per_s == 300
    assert model_fetch(custom).batch_above_per_s == 50


SLOW_CALLS = AdaptiveFetch(
    at_once=AT_ONCE,
    batch_wait_ms=10,
    batch_above_per_s=150,
    busy_above=0.25,
    waits_per_call=4.0,
    max_wait_ms=50,
)


def test_a_model_whose_calls_are_slow_batches_even_at_a_low_rate() -> None:
    # 12 ms a call at 30 requests/s: at once, it would spend 36 % of the time in calls
    assert SLOW_CALLS.should_batch(False, 30.0, call_s=0.012)
    assert not SLOW_CALLS.should_batch(False, 30.0, call_s=0.0001)  # a cheap model: at once
    assert not SLOW_CALLS.should_batch(False, 10.0, call_s=0.012)  # 12 %: at once
    # once batching it stays so down to half the share, so it does not flap
    assert SLOW_CALLS.should_batch(True, 15.0, call_s=0.012)
    assert not SLOW_CALLS.should_batch(True, 8.0, call_s=0.012)
    assert not POLICY.should_batch(False, 30.0, call_s=0.012)  # by rate only (the worker)


def test_a_batching_model_waits_in_proportion_to_its_call_time_up_to_the_cap() -> None:
    assert SLOW_CALLS.shape(True, call_s=0.0005).max_wait_ms == 10  # cheap: the usual wait
    assert SLOW_CALLS.shape(True, call_s=0.005).max_wait_ms == 20
    assert SLOW_CALLS.shape(True, call_s=0.012).max_wait_ms == 48
    assert SLOW_CALLS.shape(True, call_s=0.5) == FetchShape(50, BATCH_MIN_BYTES)
    assert SLOW_CALLS.shape(False, call_s=0.5) == AT_ONCE


def test_the_tuner_measures_model_calls_and_lengthens_the_wait_of_a_running_consumer() -> None:
    clock = Clock()
    tuner = FetchTuner(SLOW_CALLS, label="model forest", clock=clock)
    fetcher = FakeFetcher()
    consumer = tuner.attach(FakeConsumer(fetcher))
    assert consumer._fetch_max_wait_ms == AT_ONCE.max_wait_ms
    for seconds in (0.012, 0.030, 0.012, 0.013, 0.012, 0.025, 0.012, 0.012, 0.014, 0.012):
        tuner.read()  # 40 requests/s, each scored alone in 12 ms (slower when others ran)
        tuner.called(seconds)
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert tuner.batching
    assert tuner.call_s == 0.012
    assert (consumer._fetch_max_wait_ms, fetcher._fetch_max_wait_ms) == (48, 48)
    tuner.read(200)
    for requests in (40, 60, 50):  # batched now: larger calls, a little longer
        tuner.called(0.0125, requests)
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert tuner.call_s == 0.012, "large calls do not change what a call costs"
    assert fetcher._fetch_max_wait_ms == 48
    assert fetcher._fetch_min_bytes == BATCH_MIN_BYTES


def test_calls_whose_time_grows_with_their_size_get_no_longer_wait() -> None:
    # a linear model: 0.3 ms a call plus 20 us a request; then overload brings batches of
    # 200 to 1000 requests, whose mean time (12 ms) would have asked for a 48 ms wait
    clock = Clock()
    tuner = FetchTuner(SLOW_CALLS, label="model linear", clock=clock)
    for requests in (1, 3, 2, 4, 1):
        tuner.called(0.0003 + 0.00002 * requests, requests)
    clock.now += REVIEW_EVERY_S
    tuner.review()
    tuner.read(100_000)
    for requests in (200, 450, 1000, 700, 300):
        tuner.called(0.0003 + 0.00002 * requests, requests)
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert tuner.batching
    assert abs(tuner.call_s - 0.00032) < 1e-9
    assert tuner.shape.max_wait_ms == 10, "the usual batch wait"


def test_the_fixed_cost_of_a_call_is_the_fastest_small_call() -> None:
    assert fixed_call_cost([]) is None
    assert fixed_call_cost([(200, 0.004), (500, 0.010)]) is None  # none small: keep the last
    assert fixed_call_cost([(1, 0.014), (2, 0.012), (4, 0.030), (40, 0.013)]) == 0.012


def test_model_processes_wait_at_most_a_quarter_of_the_default_deadline() -> None:
    assert model_fetch(Settings(default_deadline_ms=200)).max_wait_ms == 50
    assert model_fetch(Settings(default_deadline_ms=1000)).max_wait_ms == 250
    assert model_fetch(Settings(model_batch_fetch_wait_ms=80)).max_wait_ms == 80
    assert worker_fetch(Settings()).busy_above is None


def test_a_process_hosting_several_models_waits_for_what_all_their_calls_cost() -> None:
    # a forest (10 ms a call) and an mlp (2 ms) in one process share its cores: a fetch costs
    # both calls, so the wait is four times their sum, not the cheaper one's alone
    clock = Clock()
    tuner = FetchTuner(SLOW_CALLS, label="model forest+mlp", clock=clock)
    for forest_s, mlp_s in ((0.010, 0.002), (0.020, 0.004), (0.010, 0.002)):
        tuner.read(10)
        tuner.called(forest_s, model="forest")
        tuner.called(mlp_s, model="mlp")
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert tuner.batching
    assert tuner.call_s == pytest.approx(0.012)
    assert tuner.shape.max_wait_ms == 48
    for _ in range(3):  # only the mlp called since: the forest's last estimate still counts
        tuner.read(10)
        tuner.called(0.002, model="mlp")
    clock.now += REVIEW_EVERY_S
    tuner.review()
    assert tuner.call_s == pytest.approx(0.012)


def test_the_worker_counts_every_assigned_partition_but_the_changelogs_it_has_paused() -> None:
    from streamapp.app import app
    from streamapp.worker.fetch_patch import reading

    changelog = sorted(app.tables.changelog_topics)[0]
    streams = {
        TopicPartition(t, p) for t in ("rendezvous-requests", "rendezvous-scores") for p in (0, 1)
    }
    assigned = streams | {TopicPartition(changelog, 0), TopicPartition(changelog, 1)}
    faust_app = SimpleNamespace(tables=app.tables, rebalancing=False, in_recovery=False)
    faust_consumer = SimpleNamespace(_active_partitions=set(streams), app=faust_app)
    assert reading(faust_consumer, assigned) == streams
    # a stream partition paused for a moment (a rebalance, a seek) still counts: a fetch
    # leaving it out keeps the short wait, so it is fetched again soon after it resumes
    faust_consumer._active_partitions = streams - {TopicPartition("rendezvous-requests", 0)}
    assert reading(faust_consumer, assigned) == streams
    faust_consumer._active_partitions = {TopicPartition(changelog, 0)}  # recovering it
    assert reading(faust_consumer, assigned) == streams | {TopicPartition(changelog, 0)}
    faust_app.in_recovery = True  # any changelog may be resumed now: all count
    assert reading(faust_consumer, assigned) is None
    faust_app.in_recovery, faust_app.rebalancing = False, True
    assert reading(faust_consumer, assigned) is None
    assert reading(SimpleNamespace(_active_partitions=None, app=faust_app), assigned) is None
