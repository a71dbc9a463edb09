#!/bin/sh
# t_channel_email.sh: the email channel against real SMTP servers on loopback: smtp-sink capturing
# messages (MIME, RFC 2047 subject, Message-ID, threading, attachment, one session for many),
# smtp-sink answering 421/450/550, and a Postfix instance with STARTTLS and SASL AUTH.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/channel_lib.sh"

# sink NAME [smtp-sink options...]: start smtp-sink on a free port, writing messages to
# $T/NAME/ and its verbose log to $T/NAME.log; sets PORT
sink() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	chown nobody "$T/$name"
	for _ in 1 2 3; do
		PORT=$(free_port)
		smtp-sink -v -a -u nobody "$@" -d "$T/$name/%Y%m%d%H%M%S." "127.0.0.1:$PORT" 100 \
			>"$T/$name.log" 2>&1 &
		local pid=$!
		track $pid
		wait_port "$PORT" && kill -0 $pid 2>/dev/null && return 0
		stop_pid $pid
	done
	cat "$T/$name.log"
	fail "smtp-sink $name did not start"
}

SUBJECT="[TBSC] Sự cố nghiêm trọng tại Trạm Y tế xã — báo cáo ban đầu (Mẫu 03) gửi UBND xã Thạch Quảng"
TEXT=$(printf 'Đơn vị: Trạm Y tế xã Thạch Quảng\nMức độ: nghiêm trọng\nMã sự cố: 7f3a\n')
head -c 20000 /dev/urandom >"$T/notification.bin"

# --- capture: three messages in one session ---------------------------------------------------
sink capture
send capture.out email --port "$PORT" --subject "$SUBJECT" --text "$TEXT" \
	--attachment "$T/notification.bin" --attachment-name thong-bao.tbsc --thread inc7f3a-1 \
	inc7f3a-1=ubnd@test.example inc7f3a-2=congan@test.example inc7f3a-3=ttyt@test.example
for i in 0 1 2; do expect capture.out $i OK 250; done
[ "$(grep -c 'smtp-sink: EHLO' "$T/capture.log")" -eq 1 ] ||
	fail "three messages did not share one SMTP session: $(grep -c 'smtp-sink: EHLO' "$T/capture.log") connections"
[ "$(ls "$T/capture" | wc -l)" -eq 3 ] || fail "smtp-sink stored $(ls "$T/capture" | wc -l) messages, expected 3"
SUBJECT="$SUBJECT" TEXT="$TEXT" $PY - "$T/capture" "$T/notification.bin" <<'EOF' || fail "captured messages"
import email, email.header, email.policy, os, sys
d, att = sys.argv[1], open(sys.argv[2], "rb").read()
want_subject, want_text = os.environ["SUBJECT"], os.environ["TEXT"]
seen = {}
for f in sorted(os.listdir(d)):
    raw = open(os.path.join(d, f), "rb").read()
    for ln in raw.split(b"\n"):
        assert len(ln.rstrip(b"\r")) <= 998, "line longer than 998 octets"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    rcpt = msg["X-Rcpt-Args"].strip("<>")
    raw_subject = msg.get("Subject", failobj=None)
    hdr = email.message_from_bytes(raw)["Subject"]
    assert "=?UTF-8?B?" in hdr, "subject is not RFC 2047 encoded: %r" % hdr
    subj = str(email.header.make_header(email.header.decode_header(hdr)))
    assert subj == want_subject, "subject %r" % subj
    mid = msg["Message-ID"]
    nid = mid.strip("<>").split("@")[0]
    assert mid == "<%s@tbsc>" % nid, mid
    if nid == "inc7f3a-1":
        assert msg["In-Reply-To"] is None and msg["References"] is None, "first message threads to itself"
    else:
        assert msg["In-Reply-To"] == "<inc7f3a-1@tbsc>", msg["In-Reply-To"]
        assert msg["References"] == "<inc7f3a-1@tbsc>", msg["References"]
    assert msg["MIME-Version"] == "1.0" and msg["Date"] and msg["From"] == "tbsc-relay@test.example"
    assert msg["To"] == rcpt, (msg["To"], rcpt)
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert len(parts) == 2
    assert parts[0].get_content_type() == "text/plain" and parts[0].get_content_charset() == "utf-8"
    text = parts[0].get_payload(decode=True).decode("utf-8")
    assert text == want_text.replace("\n", "\r\n") + "\r\n" or text.replace("\r\n", "\n").rstrip("\n") == want_text, repr(text)
    assert parts[1].get_content_type() == "application/octet-stream"
    assert parts[1].get_filename() == "thong-bao.tbsc"
    assert parts[1]["Content-Transfer-Encoding"] == "base64"
    assert parts[1].get_payload(decode=True) == att, "attachment differs from the original bytes"
    seen[nid] = rcpt
assert seen == {"inc7f3a-1": "ubnd@test.example", "inc7f3a-2": "congan@test.example",
                "inc7f3a-3": "ttyt@test.example"}, seen
EOF
ok "smtp-sink: 3 messages in one session; subject RFC 2047, Message-ID, threading, attachment intact"

# The same notification sent again keeps its Message-ID (receivers drop the duplicate).
send again.out email --port "$PORT" --subject "$SUBJECT" inc7f3a-2=congan@test.example
expect again.out 0 OK 250
[ "$(grep -l '^Message-ID: <inc7f3a-2@tbsc>' "$T"/capture/* | wc -l)" -eq 2 ] || fail "Message-ID not stable across a resend"
ok "Message-ID stable across retries"

# --- faults: 421, 450, 550, greeting 421, nobody listening ----------------------------------
sink s421 -Q rcpt
send f421.out email --port "$PORT" a1=x@test.example a2=y@test.example
expect f421.out 0 TEMPORARY 421
expect f421.out 1 TEMPORARY
sink s450 -r rcpt -b "450 4.2.1 Mailbox busy, try later"
send f450.out email --port "$PORT" b1=x@test.example b2=y@test.example
expect f450.out 0 TEMPORARY 450
expect f450.out 1 TEMPORARY 450
grep -q "^0 TEMPORARY 450 0 450 4.2.1 Mailbox busy, try later$" "$T/f450.out" || fail "450 detail: $(cat "$T/f450.out")"
sink s550 -f rcpt -B "550 5.1.1 Mailbox unavailable"
send f550.out email --port "$PORT" c1=x@test.example
expect f550.out 0 PERMANENT 550
grep -q "5.1.1 Mailbox unavailable" "$T/f550.out" || fail "550 detail"
sink sdata -f . -B "554 5.7.1 Rejected by test sink"
send fdata.out email --port "$PORT" e1=x@test.example
expect fdata.out 0 PERMANENT 554
sink sgreet -Q connect
send fgreet.out email --port "$PORT" d1=x@test.example
expect fgreet.out 0 TEMPORARY 421
DEAD=$(free_port)
send fdead.out email --port "$DEAD" --timeout 3 g1=x@test.example
expect fdead.out 0 TEMPORARY 0
grep -qi "refused" "$T/fdead.out" || fail "connection refused not named: $(cat "$T/fdead.out")"
send fbad.out email --port "$DEAD" "bad id=x@test.example" h1=not-an-address
expect fbad.out 0 PERMANENT 0
expect fbad.out 1 PERMANENT 0
ok "faults: 421/450 temporary, 550/554 permanent, greeting 421 and refused connection temporary, bad input permanent"

# --- STARTTLS required, server without it ------------------------------------------------------
sink notls
make_ca "$T/tls" good || fail "openssl: test CA"
make_ca "$T/tls" other || fail "openssl: second test CA"
send notls.out email --port "$PORT" --starttls 2 --ca "$T/tls/good-ca.crt" n1=x@test.example
expect notls.out 0 TEMPORARY 0
grep -q "does not offer STARTTLS, required by configuration" "$T/notls.out" || fail "no clear STARTTLS reason: $(cat "$T/notls.out")"
[ -z "$(ls "$T/notls")" ] || fail "a message went out in clear although STARTTLS was required"
ok "STARTTLS required and not offered: temporary, clear reason, nothing sent"

# --- a real Postfix: STARTTLS + SASL AUTH ------------------------------------------------------
B=$T/pf
PF_PORT=$(free_port)
mkdir -p "$B/etc/sasl" "$B/spool" "$B/data" "$B/mail"
chown postfix "$B/data"
chown nobody:nogroup "$B/mail"
cat >"$B/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $B/spool
data_directory = $B/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $B/maillog
maillog_file_prefixes = $B
myhostname = mail.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_peername_lookup = no
relayhost =
default_transport = error:5.7.1 outbound delivery disabled in test instance
relay_transport = error:5.7.1 outbound delivery disabled in test instance
virtual_mailbox_domains = test.example
virtual_mailbox_base = $B/mail
virtual_mailbox_maps = regexp:$B/etc/vmailbox.regexp
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/tls/good-server.crt
smtpd_tls_key_file = $T/tls/good-server.key
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access regexp:$B/etc/rcpt_access.regexp
EOF
cat >"$B/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
printf '%s\n' '/@test\.example$/   inbox/' >"$B/etc/vmailbox.regexp"
printf '%s\n' '/^tempfail@/   451 4.3.0 Simulated temporary failure' \
	'/^permfail@/   550 5.1.1 Simulated permanent failure' >"$B/etc/rcpt_access.regexp"
cat >"$B/etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $B/etc/sasldb2
EOF
command -v saslpasswd2 >/dev/null || fail "saslpasswd2 missing (Debian package sasl2-bin)"
echo 'S3cret-pass' | saslpasswd2 -p -c -f "$B/etc/sasldb2" -u test.example alice || fail "saslpasswd2"
chown root:postfix "$B/etc/sasldb2"
chmod 640 "$B/etc/sasldb2"
postfix -c "$B/etc" check >"$T/pfcheck.log" 2>&1 || { cat "$T/pfcheck.log"; fail "postfix check"; }
setsid /usr/lib/postfix/sbin/master -c "$B/etc" -d >/dev/null 2>&1 &
PF_PID=$!
track $PF_PID
wait_port "$PF_PORT" || { cat "$B/maillog" 2>/dev/null; fail "postfix did not start"; }

PFARGS="--port $PF_PORT --starttls 2 --ca $T/tls/good-ca.crt --from relay@test.example"
send pfok.out email $PFARGS --user alice@test.example --password S3cret-pass \
	--subject "$SUBJECT" --text "$TEXT" --attachment "$T/notification.bin" \
	p1=bob@test.example p2=tempfail@test.example p3=permfail@test.example p4=carol@test.example
expect pfok.out 0 OK 250
expect pfok.out 1 TEMPORARY 451
expect pfok.out 2 PERMANENT 550
expect pfok.out 3 OK 250
for _ in $(seq 100); do
	[ "$(ls "$B/mail/inbox/new" 2>/dev/null | wc -l)" -ge 2 ] && break
	sleep 0.1
done
[ "$(ls "$B/mail/inbox/new" | wc -l)" -eq 2 ] || fail "postfix delivered $(ls "$B/mail/inbox/new" | wc -l) messages, expected 2"
grep -l "with ESMTPSA" "$B"/mail/inbox/new/* | wc -l | grep -qx 2 || fail "messages did not arrive over TLS with AUTH (ESMTPSA)"
grep -q "Message-ID: <p1@tbsc>" "$B"/mail/inbox/new/* || fail "Message-ID lost through postfix"
ok "postfix: STARTTLS (verified, IP name) + AUTH PLAIN; 250/451/550 per recipient in one session"

send pflocal.out email $PFARGS --host localhost --user alice@test.example --password S3cret-pass q1=bob@test.example
expect pflocal.out 0 OK 250
ok "postfix: certificate checked against the DNS name localhost"

send pfbadpw.out email $PFARGS --user alice@test.example --password wrong r1=bob@test.example
expect pfbadpw.out 0 TEMPORARY 535
grep -q "SMTP AUTH failed: 535" "$T/pfbadpw.out" || fail "wrong password reason: $(cat "$T/pfbadpw.out")"
ok "postfix: wrong password is a temporary failure naming the 535 reply"

send pfnoauth.out email $PFARGS r2=bob@test.example
expect pfnoauth.out 0 PERMANENT 554
ok "postfix: no AUTH configured, relay refused (554)"

send pfca.out email --port "$PF_PORT" --starttls 2 --ca "$T/tls/other-ca.crt" \
	--user alice@test.example --password S3cret-pass s1=bob@test.example
expect pfca.out 0 TEMPORARY 0
grep -q "certificate" "$T/pfca.out" || fail "wrong CA reason: $(cat "$T/pfca.out")"
ok "postfix: certificate from another CA refused (temporary, TLS reason)"

stop_pid $PF_PID
exit 0
