"""`weekly bounces`: DSN fixtures for hard, soft, delayed and not-a-bounce, complaints, the
format detectors' fallback, French and carrier notices, idempotency."""

from __future__ import annotations

import email
import hashlib
import mailbox
from pathlib import Path

import pytest

from weekly.audience.bounces import open_mailbox, read_failures
from weekly.clock import stamp
from weekly.errors import WeeklyError
from weekly.store import existing_consent_log, open_consent_log
from weekly.store.consent import BOUNCED, COMPLAINED, SOFT_BOUNCED

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
# A test of reading mail alone, which must reach no store.
READS_NO_STORE = pytest.mark.parametrize("store", ["none"], indirect=True)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def maildir(path: Path, *messages: bytes) -> Path:
    box = mailbox.Maildir(path, create=True)
    for data in messages:
        box.add(data)
    return path


def standings(root: Path) -> dict[str, str]:
    with open_consent_log(root) as store:
        return {address: s.status for address, s in store.standings().items()}


def soft_bounce(day: int) -> bytes:
    """The 4.2.2 fixture as returned for a different issue on a later day."""
    data = fixture("soft-4.2.2.eml")
    data = data.replace(b"Date: Fri, 3 Oct 2025", f"Date: Fri, {3 + 7 * day} Oct 2025".encode())
    return data.replace(b"soft1@", f"soft{day}@".encode())


def test_maildir_read_twice_changes_nothing(newsletter: Path, run_weekly) -> None:
    box = maildir(
        newsletter / "bounces",
        *(fixture(n) for n in ("hard-5.1.1.eml", "soft-4.2.2.eml", "auto-reply.eml")),
        fixture("qmail-hard.eml"),
        fixture("complaint-arf.eml"),
    )
    first = run_weekly("bounces", str(box))
    assert first.exit_code == 0, first.output
    assert first.output == (
        "Read 5 messages: 2 hard bounces, 1 soft bounces, 1 complaints, 1 not bounces;"
        " 4 new events recorded\n"
        "  no more mail to annoyed@example.com (complained)\n"
        "  no more mail to Gone@Example.org (bounced)\n"
        "  no more mail to nobody@example.com (bounced)\n"
    )
    found = standings(newsletter)
    assert found == {
        "gone@example.org": BOUNCED,
        "nobody@example.com": BOUNCED,
        "annoyed@example.com": COMPLAINED,
    }  # one soft bounce suppresses nobody; the out-of-office reply names no one
    with open_consent_log(newsletter) as store:
        (soft,) = store.history("full@example.net")
    assert (soft.kind, soft.at, soft.source) == (
        SOFT_BOUNCED,
        "2025-10-03T11:20:00+00:00",
        "mailbox",
    )
    assert soft.detail.startswith("4.2.2 SMTP; 452 4.2.2")
    # Keyed by the returned message and the address, as the second pass below relies on.
    digest = hashlib.sha256(fixture("soft-4.2.2.eml")).hexdigest()[:32]
    assert soft.ref == f"mailbox:{digest}:full@example.net"

    again = run_weekly("bounces", str(box))
    assert again.output.endswith("; 0 new events recorded\n")
    assert standings(newsletter) == found


def test_three_soft_bounces_in_a_row_suppress(newsletter: Path, run_weekly) -> None:
    box = maildir(newsletter / "bounces", soft_bounce(0), soft_bounce(1))
    assert run_weekly("bounces", str(box)).exit_code == 0
    assert "full@example.net" not in standings(newsletter)
    mailbox.Maildir(box).add(soft_bounce(2))
    assert run_weekly("bounces", str(box)).output.endswith(
        "; 1 new events recorded\n  no more mail to full@example.net (bounced)\n"
    )
    assert standings(newsletter) == {"full@example.net": BOUNCED}


def test_mbox_is_read_too(newsletter: Path, run_weekly) -> None:
    path = newsletter / "returned.mbox"
    box = mailbox.mbox(path)
    box.add(fixture("hard-5.1.1.eml"))
    box.add(fixture("auto-reply.eml"))
    box.close()
    result = run_weekly("bounces", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Read 2 messages: 1 hard bounces")
    assert standings(newsletter) == {"gone@example.org": BOUNCED}


@pytest.mark.parametrize("make", ["missing", "plain folder", "only cur/", "only new/"])
def test_not_a_mailbox_is_an_error(newsletter: Path, run_weekly, make: str) -> None:
    path = newsletter / "nothing"
    if make != "missing":
        path.mkdir()
    if make.startswith("only"):
        (path / make.split()[1]).mkdir()
    result = run_weekly("bounces", str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: ")
    assert existing_consent_log(newsletter) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("delayed-4.4.7.eml", []),  # still being retried: no failure, whatever the text says
        ("delivered-notice.eml", []),
        ("complaint-no-rcpt.eml", [("cross@example.net", COMPLAINED)]),
        # x400 and x-local types name no mail address; Final-Recipient's rfc822 one counts
        ("dsn-address-types.eml", [("choi@example.org", BOUNCED), ("jeong@example.kr", BOUNCED)]),
        ("report-without-failed-block.eml", [("missing@example.com", BOUNCED)]),
        ("french-remise.eml", [("absent@example.fr", BOUNCED)]),
        ("french-introuvable.eml", [("parti@example.fr", BOUNCED)]),
        ("wireless-carrier.eml", [("5551234567@msg.wireless.example.com", BOUNCED)]),
        ("reader-reply-quoting-bounce.eml", []),  # a person forwarding a bounce
        ("vacation-could-not-deliver.eml", []),  # an auto-reply in a bounce's words
    ],
)
def test_each_shape_of_returned_mail(name: str, expected: list[tuple[str, str]]) -> None:
    message = email.message_from_bytes(fixture(name))
    assert [(f.email, f.kind) for f in read_failures(message)] == expected


def test_a_delayed_report_suppresses_no_one(newsletter: Path, run_weekly) -> None:
    box = maildir(newsletter / "bounces", fixture("delayed-4.4.7.eml"))
    result = run_weekly("bounces", str(box))
    assert result.output == (
        "Read 1 messages: 0 hard bounces, 0 soft bounces, 0 complaints, 1 not bounces;"
        " 0 new events recorded\n"
    )
    with open_consent_log(newsletter) as store:
        assert store.history("slow@example.net") == []


def test_two_messages_that_are_not_bounces_count_two(newsletter: Path, run_weekly) -> None:
    box = maildir(
        newsletter / "bounces", fixture("auto-reply.eml"), fixture("delivered-notice.eml")
    )
    assert " 2 not bounces; 0 new events recorded" in run_weekly("bounces", str(box)).output


def test_a_feedback_report_without_its_type_counts_as_abuse() -> None:
    data = fixture("complaint-arf.eml").replace(b"Feedback-Type: abuse\n", b"")
    assert reads(data) == [("annoyed@example.com", COMPLAINED, "abuse report")]


def test_only_abuse_feedback_is_a_complaint() -> None:
    data = fixture("complaint-arf.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert read_failures(email.message_from_bytes(data)) == []


def test_a_complaint_with_only_the_returned_headers_names_their_recipient() -> None:
    data = fixture("complaint-no-rcpt.eml").replace(
        b"Content-Type: message/rfc822", b"Content-Type: text/rfc822-headers"
    )
    (failure,) = read_failures(email.message_from_bytes(data))
    assert (failure.email, failure.kind) == ("cross@example.net", COMPLAINED)


def test_a_french_list_that_ends_the_message_is_read_to_its_end() -> None:
    data = fixture("french-remise.eml").split(b"        Adresse inconnue")[0]
    data += b"    autre@example.fr\n"  # the notice stops after its last address
    found = read_failures(email.message_from_bytes(data))
    assert [f.email for f in found] == ["absent@example.fr", "autre@example.fr"]


def test_a_report_without_a_readable_date_is_recorded_now(newsletter: Path, run_weekly) -> None:
    data = fixture("hard-5.1.1.eml").replace(b"Date: Thu,  2 Oct 2025", b"Date: sometime 2 Oct")
    before = stamp()
    assert run_weekly("bounces", str(maildir(newsletter / "bounces", data))).exit_code == 0
    with open_consent_log(newsletter) as store:
        (event,) = store.history("gone@example.org")
    assert event.at >= before


def test_a_second_bounce_for_an_address_already_off_the_list_says_nothing_new(
    newsletter: Path, run_weekly
) -> None:
    first = fixture("hard-5.1.1.eml")
    box = maildir(newsletter / "bounces", first)
    assert run_weekly("bounces", str(box)).exit_code == 0
    mailbox.Maildir(box).add(first.replace(b"Date: Thu,  2 Oct", b"Date: Fri,  3 Oct"))
    again = run_weekly("bounces", str(box))
    assert again.output == (
        "Read 2 messages: 2 hard bounces, 0 soft bounces, 0 complaints, 0 not bounces;"
        " 1 new events recorded\n"
    )


def reads(data: bytes) -> list[tuple[str, str, str]]:
    return [(f.email, f.kind, f.detail) for f in read_failures(email.message_from_bytes(data))]


def test_either_the_null_sender_or_a_postmaster_marks_a_mail_system() -> None:
    qmail = fixture("qmail-hard.eml")
    expected = [("nobody@example.com", BOUNCED, "")]
    from_anyone = qmail.replace(b"From: MAILER-DAEMON@", b"From: Delivery <returns@")
    assert reads(from_anyone) == expected  # Return-Path: <> alone is enough
    without_null = qmail.replace(b"Return-Path: <>\n", b"")
    assert reads(without_null.replace(b"MAILER-DAEMON", b"Mailer-Daemon")) == expected
    assert reads(from_anyone.replace(b"Return-Path: <>\n", b"")) == []  # neither: not a bounce


def dsn_block(*fields: bytes) -> bytes:
    """The Exim-worded fixture whose delivery-status part gains a per-recipient block."""
    data = fixture("report-without-failed-block.eml")
    mta = b"Reporting-MTA: dns; mx2.example.com\n"
    return data.replace(mta, mta + b"\n" + b"\n".join(fields) + b"\n")


def test_an_error_action_without_status_or_diagnostic() -> None:
    data = dsn_block(b"Final-Recipient: rfc822; old@example.org", b"Action: error")
    assert reads(data) == [("old@example.org", BOUNCED, "")]  # the block, not the words


def test_a_block_without_action_leaves_it_to_the_detectors() -> None:
    data = dsn_block(b"Final-Recipient: rfc822; other@example.com", b"Status: 5.1.1")
    assert reads(data) == [("missing@example.com", BOUNCED, "")]  # Exim's words say who


def test_a_recipient_without_a_domain_is_never_recorded() -> None:
    data = dsn_block(b"Final-Recipient: rfc822; other", b"Action: failed")
    assert reads(data) == []


FRENCH = (
    "Return-Path: <>\nFrom: postmaster@courriel.example.fr\nMIME-Version: 1.0\n"
    "Content-Type: text/plain{charset}\n\n"
    "{intro}\n\n<parti@example.fr>\n\nPour toute question : aide@example.fr\n"
)


@pytest.mark.parametrize(
    ("intro", "charset", "encoding"),
    [
        ("Votre message n'a pas pu être remis :", "; charset=iso-8859-1", "latin-1"),
        ("Le destinataire est introuvable :", "", "ascii"),  # no charset: US-ASCII
    ],
)
def test_french_notice_in_its_own_charset(intro: str, charset: str, encoding: str) -> None:
    data = FRENCH.format(intro=intro, charset=charset).encode(encoding)
    assert reads(data) == [("parti@example.fr", BOUNCED, "")]  # not the help address after


def test_a_french_notice_inside_a_multipart_message() -> None:
    text = FRENCH.format(intro="Le destinataire est introuvable :", charset="")
    head, _, body = text.partition("Content-Type: text/plain\n\n")
    data = (
        f'{head}Content-Type: multipart/mixed; boundary="fr"\n\n--fr\n'
        f"Content-Type: text/html\n\n<p>voir ci-dessous</p>\n--fr\n"
        f"Content-Type: text/plain\n\n{body}--fr--\n"
    ).encode()
    assert reads(data) == [("parti@example.fr", BOUNCED, "")]


@READS_NO_STORE
def test_a_complaint_names_the_original_recipient_before_the_returned_to() -> None:
    data = fixture("complaint-arf.eml").replace(
        b"Original-Rcpt-To: <annoyed@example.com>", b"Original-Rcpt-To: <alias@example.com>"
    )
    assert reads(data) == [("alias@example.com", COMPLAINED, "abuse report")]


@READS_NO_STORE
def test_a_complaint_that_names_no_recipient_records_no_one() -> None:
    data = fixture("complaint-no-rcpt.eml").split(b"--arf-c\nContent-Type: message/rfc822")[0]
    assert reads(data + b"--arf-c--\n") == []


@READS_NO_STORE
def test_a_notice_with_bytes_its_charset_lacks_is_still_read() -> None:
    text = FRENCH.format(intro="Le destinataire est introuvable :", charset="")
    data = text.encode("ascii").replace(b"Pour toute", b"R\xe9sum\xe9 : pour toute")
    assert reads(data) == [("parti@example.fr", BOUNCED, "")]


@READS_NO_STORE
@pytest.mark.parametrize(("blank", "expected"), [(5, ["parti@example.fr"]), (6, [])])
def test_the_addresses_may_start_up_to_five_lines_after_the_notice(
    blank: int, expected: list[str]
) -> None:
    text = FRENCH.format(intro="Le destinataire est introuvable :", charset="")
    data = text.replace(":\n\n<parti", ":\n" + "\n" * blank + "<parti").encode()
    assert [email for email, _, _ in reads(data)] == expected


@READS_NO_STORE
def test_a_file_that_is_no_mbox_is_one_line_and_an_empty_one_is_an_empty_mbox(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bounces.txt"
    path.write_text("Subject: not a mailbox\n\nhello\n")
    with pytest.raises(WeeklyError) as refused:
        open_mailbox(path)
    assert str(refused.value) == f"{path}: not an mbox (no `From ` line first) nor a Maildir"
    path.write_bytes(b"")
    assert len(open_mailbox(path)) == 0


@READS_NO_STORE
@pytest.mark.parametrize("returned", ["message/rfc822", "text/rfc822-headers"])
def test_a_complaint_whose_returned_mail_has_no_to_records_no_one(returned: str) -> None:
    """No Original-Rcpt-To and a returned message without To: no one to suppress (not a
    made-up address)."""
    data = fixture("complaint-no-rcpt.eml").replace(b'To: "Park" <cross@example.net>\n', b"")
    data = data.replace(b"Content-Type: message/rfc822", f"Content-Type: {returned}".encode())
    assert reads(data) == []
