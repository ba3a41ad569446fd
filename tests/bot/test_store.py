from __future__ import annotations

from pathlib import Path

from bot.store import Button, NewJob, NewMessage, Store


def open_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "bot.sqlite3")


def test_jobs_are_kept_in_order_and_a_redelivered_update_adds_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = [NewJob("u1:0", "photo", {"file_id": "f"}), NewJob("u1:1", "rasa", {"message": "a"})]
    assert store.add_jobs(user_id=7, chat_id=7, jobs=first) == 2
    assert store.add_jobs(user_id=7, chat_id=7, jobs=first) == 0
    store.add_jobs(user_id=7, chat_id=7, jobs=[NewJob("u2:0", "rasa", {"message": "b"})])
    seen = []
    while (job := store.next_job(7)) is not None:
        seen.append(job.key)
        store.finish_job(job, [NewMessage(f"reply to {job.key}")])
    assert seen == ["u1:0", "u1:1", "u2:0"]
    assert [m.text for m in store.unsent(7)] == ["reply to u1:0", "reply to u1:1", "reply to u2:0"]
    assert store.add_jobs(user_id=7, chat_id=7, jobs=first) == 0  # done jobs still dedupe


def test_queue_survives_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.add_jobs(user_id=1, chat_id=1, jobs=[NewJob("u5:0", "rasa", {"message": "路灯坏了"})])
    store.finish_update(5, next_offset=6)
    store.close()
    again = open_store(tmp_path)
    job = again.next_job(1)
    assert job is not None and job.data == {"message": "路灯坏了"}
    assert again.users_with_pending_jobs() == [1]
    assert again.update_seen(5) and not again.update_seen(6)
    assert again.polling_offset() == 6


def test_finished_job_forgets_the_resident_text(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.add_jobs(user_id=1, chat_id=1, jobs=[NewJob("u1:0", "rasa", {"message": "13812345678"})])
    job = store.next_job(1)
    assert job is not None
    store.finish_job(job)
    row = store._db.execute("SELECT data FROM job WHERE key = 'u1:0'").fetchone()
    assert row["data"] == "{}"


def test_button_payloads_hide_behind_short_tokens(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    payload = '/rate_service{"ticket_number":"2026112600001","rating":"unresolved"}'
    assert len(payload.encode()) > 64
    store.add_outgoing(
        key="k",
        chat_id=3,
        message=NewMessage("请评价", [Button("问题没解决", payload), Button("满意", "/x")]),
    )
    (message,) = store.unsent(3)
    tokens = [b["token"] for b in message.buttons]
    assert len(set(tokens)) == 2
    assert all(len(t.encode()) <= 64 for t in tokens)
    stored = store.button(tokens[0])
    assert stored is not None
    assert (stored.payload, stored.title, stored.display_text, stored.chat_id) == (
        payload,
        "问题没解决",
        "问题没解决",
        3,
    )
    assert store.button("nonexistent") is None


def test_outgoing_parts_and_sent_state(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.add_outgoing(key="a", chat_id=1, message=NewMessage("one"))
    assert not store.add_outgoing(key="a", chat_id=1, message=NewMessage("one again"))
    (message,) = store.unsent(1)
    store.mark_part_sent(message.id, 1)
    assert store.unsent(1)[0].parts_sent == 1
    store.mark_sent(message.id)
    assert store.unsent(1) == [] and store.chats_with_unsent() == []


def test_notifications_are_recorded_once(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    message = NewMessage("【工单 2026112600001】工作人员答复：已安排维修")
    assert store.record_notification(notification_id=9, chat_id=5, message=message)
    store.close()
    again = open_store(tmp_path)
    assert not again.record_notification(notification_id=9, chat_id=5, message=message)
    assert len(again.unsent(5)) == 1


def test_busy_notice_once_per_outage(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.tell_busy_once(user_id=1, chat_id=1, key="u1:0", text="忙")
    assert not store.tell_busy_once(user_id=1, chat_id=1, key="u2:0", text="忙")
    assert len(store.unsent(1)) == 1
    store.clear_busy(1)
    assert store.tell_busy_once(user_id=1, chat_id=1, key="u3:0", text="忙")


def test_purge_drops_old_finished_work_only(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = Store(tmp_path / "s.sqlite3", clock=lambda: now[0])
    store.add_jobs(
        user_id=1, chat_id=1, jobs=[NewJob("old", "rasa", {}), NewJob("new", "rasa", {})]
    )
    old = store.next_job(1)
    assert old is not None
    store.finish_job(old)
    now[0] += 8 * 86400
    store.purge()
    assert store.add_jobs(user_id=1, chat_id=1, jobs=[NewJob("old", "rasa", {})]) == 1
    pending = store.next_job(1)
    assert pending is not None and pending.key == "new"
