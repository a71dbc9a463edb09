#!/bin/sh
# t_timeline.sh: one incident across its reports (notification, update with the end of the response,
# closing report Mẫu 04); its state; the legal clocks; a reminder to the unit before the closing report is
# due and a notice to the commune office once it is overdue. Runs on an injected clock (libfaketime).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers.sh"

CLOCK="$T/clock"
echo "+0" >"$CLOCK"
export FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 ASAN_OPTIONS=verify_asan_link_order=0
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1)
[ -n "$FAKETIME_LIB" ] || fail "libfaketime not found (package faketime)"
advance() { echo "+$1" >"$CLOCK"; }
fk() { LD_PRELOAD="$FAKETIME_LIB" "$@"; }

start_sink sink
keygen relay
enrol unit-a unit
enrol vp-ubnd commune_office
cat >"$T/recipients.ini" <<RCPT
[recipient vp-ubnd]
role = commune_office
group = thach-quang
email = vp@thachquang.test
[route all]
to = *
channels = email
RCPT
write_config
cat >>"$T/relay.ini" <<CONF
[relay]
recipients = recipients.ini
templates = $ROOT/templates
[smtp]
host = 127.0.0.1
port = $SINK_PORT
starttls = 0
[escalation]
normal_minutes = 0
serious_minutes = 0
interval = 1
[clocks]
deadline_days = 5
remind_hours = 24
CONF
LD_PRELOAD="$FAKETIME_LIB" start_relay

rep() {
	fk client report --no-input --incident-id SC-TL-1 --category malware --reporter-name "Trạm Y tế" \
		--reporter-address A --reporter-email tramyte@thachquang.test --system-name S "$@" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail "report $*"; }
}
DET=$(date -d "-1 day" +%s)
rep --kind notification --detected "$DET" --description "phát hiện mã độc"
fk client status --incident SC-TL-1 >"$T/out" || fail "status --incident"
grep -q "đang mở / open" "$T/out" || { cat "$T/out"; fail "state open"; }
grep -q "notification.*met" "$T/out" || { cat "$T/out"; fail "notification clock met"; }
ENDED=$(date +%s)
rep --kind update --description "đã khống chế, kết thúc ứng phó" --response-ended "$ENDED"
fk client status --incident SC-TL-1 >"$T/out"
grep -q "đang ứng cứu / responding" "$T/out" || { cat "$T/out"; fail "state responding"; }
grep -q "closing report.*running" "$T/out" || { cat "$T/out"; fail "closing clock running"; }
ok "one incident id across its reports; state open -> responding; clocks shown"

subject_count() {
	$PY - "$T/sink" "$1" "$2" <<'PYEOF'
import email, email.header, os, sys
n = 0
for f in os.listdir(sys.argv[1]):
    m = email.message_from_binary_file(open(os.path.join(sys.argv[1], f), "rb"))
    s = str(email.header.make_header(email.header.decode_header(m.get("Subject", ""))))
    if sys.argv[2] in m.get("X-Rcpt-Args", "") and sys.argv[3] in s:
        n += 1
print(n)
PYEOF
}
advance 72h
sleep 2
expect_eq "$(subject_count tramyte@ "Nhắc hạn")" 0 "no reminder 2 days before the deadline"
advance 97h
i=0
until [ "$(subject_count tramyte@ "Nhắc hạn")" = 1 ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "no reminder a day before"; sleep 0.1; done
ok "the reporting unit is reminded a day before the closing report is due"
advance 122h
i=0
until [ "$(subject_count vp@ "Quá hạn")" = 1 ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "the commune office was not told"; sleep 0.1; done
fk client status --incident SC-TL-1 | grep -q "overdue" || fail "clock not overdue"
ok "once overdue, the commune office is told"

rep --kind closing --detected "$DET" --reporter-phone "0237 3870 123" --operator "Trạm Y tế" \
	--result "Đã khôi phục dữ liệu từ bản sao lưu." --response-ended "$ENDED" --handling in_house
fk client status --incident SC-TL-1 >"$T/out"
grep -q "đã kết thúc / closed" "$T/out" || { cat "$T/out"; fail "state closed"; }
grep -q "closing report.*late" "$T/out" || { cat "$T/out"; fail "closing clock late"; }
advance 144h
sleep 2
expect_eq "$(subject_count vp@ "Quá hạn")" 1 "no second overdue notice"
expect_eq "$(subject_count vp@ "Mẫu 05")" 0 "no Mẫu 05 reminder on 1 December"
advance 336h
i=0
until [ "$(subject_count vp@ "Mẫu 05")" = 1 ]; do i=$((i + 1)); [ $i -gt 50 ] && fail "no Mẫu 05 reminder a week before 15 December"; sleep 0.1; done
advance 340h
sleep 2
expect_eq "$(subject_count vp@ "Mẫu 05")" 1 "one Mẫu 05 reminder per deadline"
ok "the annual Mẫu 05 summary is reminded once, in the week before 15 December"
stop_relay
ok "the closing report (Mẫu 04) closes the incident; the clock says it came late"
