"""A job's record: its transitions keep every field they do not change, and a stored record reads back whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from blocking_store import BlockingStore
from ticket_daemon.store.jobs import TRANSITIONS, Job, JobState

_texts = st.text(max_size=20)
_jobs = st.builds(
    Job,
    id=_texts,
    client_id=_texts,
    printer=_texts,
    document=_texts,
    seq=st.integers(min_value=0, max_value=2**40),
    data=st.none() | st.binary(max_size=20),
    state=st.sampled_from(JobState),
    attempts=st.integers(min_value=0, max_value=100),
    created_at=st.floats(allow_nan=False),
    updated_at=st.floats(allow_nan=False),
    message=_texts,
    notes=st.lists(_texts, max_size=3).map(tuple),
    digest=_texts,
)


@given(_jobs, st.data())
def test_a_move_changes_only_what_the_edge_changes(job: Job, data: st.DataObject) -> None:
    targets = sorted(TRANSITIONS[job.state])
    if not targets:
        return  # a final state has no edge
    target = data.draw(st.sampled_from(targets))
    message = data.draw(st.none() | _texts)
    attempts = data.draw(st.none() | st.integers(min_value=0, max_value=100))
    moved = job.moved(target, now=12.5, message=message, attempts=attempts)
    assert moved == dataclasses.replace(
        job,
        state=target,
        data=None if target.is_final else job.data,
        updated_at=12.5,
        message=job.message if message is None else message,
        attempts=job.attempts if attempts is None else attempts,
    )


@given(_jobs, st.integers(min_value=1, max_value=2**40))
def test_numbering_a_job_changes_only_its_seq(job: Job, seq: int) -> None:
    assert job.numbered(seq) == dataclasses.replace(job, seq=seq)


def test_a_stored_job_reads_back_whole_with_and_without_notes(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.db")
    written = [
        Job(
            id="plain", client_id="pos1", printer="caja1", document="{}", data=b"\x1b@", created_at=1.0, updated_at=2.0
        ),
        Job(
            id="noted",
            client_id="pos1",
            printer="caja1",
            document='{"a":1}',
            data=b"\x1b@x",
            created_at=3.25,
            updated_at=3.5,
            notes=("[]", 'replaced "ő" with "o"'),  # a note that reads like the empty list is still a note
            digest="abc",
        ),
    ]
    stored = [store.add(job, capacity=10) for job in written]
    store.close()
    again = BlockingStore(tmp_path / "spool.db")
    for job, kept in zip(written, stored, strict=True):
        read = again.get(kept.seq)
        assert read == job.numbered(kept.seq)
        assert isinstance(read.created_at, float) and isinstance(read.updated_at, float)  # 1.0 too, not 1
    again.close()
