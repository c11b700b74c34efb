"""Log lines are structured and never carry an endpoint's api_key."""

from __future__ import annotations

import logging

import pytest

from app.process.logs import KeyValueFormatter


def test_a_record_becomes_one_key_value_line_with_its_ids():
    record = logging.LogRecord(
        "worker.generation",
        logging.WARNING,
        __file__,
        1,
        "generation failed: %s",
        ('bad "json"\nhere',),
        None,
    )
    record.turn, record.slot, record.attempt = "t1", "b", 2
    line = KeyValueFormatter().format(record)
    assert "\n" not in line
    assert line.startswith("ts=") and " level=warning logger=worker.generation " in line
    assert 'msg="generation failed: bad \\"json\\"\\nhere"' in line
    assert line.endswith("turn=t1 slot=b attempt=2")


@pytest.mark.stack
def test_worker_logs_name_the_turn_and_slot_and_hide_the_api_key(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "Log me #fail=http500", mode="pair")  # the fake echoes the key
    browser.stream(turn["id"])
    log = stack.processes["worker"].log()
    lines = [line for line in log.splitlines() if f"turn={turn['id']}" in line]
    assert any("generation failed" in line and "slot=a" in line for line in lines)
    assert any("generation failed" in line and "slot=b" in line for line in lines)
    assert all(" level=" in line for line in lines)
    assert "sk-test-secret" not in log
    assert "sk-test-secret" not in stack.processes["web"].log()
