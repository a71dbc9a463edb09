#!/usr/bin/python3
"""interactive.py INCIDENT ARGS...: runs `incident report` at a pseudo-terminal without its mandatory
fields and answers the Vietnamese questions it asks; exit 0 when it asked for each one and filed."""
import os
import pty
import select
import sys
import time

answers = {
    "Tên tổ chức/cá nhân báo cáo sự cố": "Trường Tiểu học Thạch Quảng",
    "Địa chỉ": "xã Thạch Quảng, tỉnh Thanh Hóa",
    "Tên hệ thống bị sự cố": "Máy chủ web của trường",
    "Thời gian phát hiện sự cố": "2026-11-25 08:00",
    "Mô tả sơ bộ về sự cố": "Trang web bị thay đổi giao diện.",
}
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, asked, deadline = b"", set(), time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    text = out.decode("utf-8", "replace")
    for label, answer in answers.items():
        if label not in asked and text.rstrip().endswith(":") and label in text.splitlines()[-1]:
            asked.add(label)
            os.write(fd, (answer + "\n").encode())
_, status = os.waitpid(pid, 0)
text = out.decode("utf-8", "replace")
print(text)
missing = set(answers) - asked
if missing:
    print("NOT ASKED:", ", ".join(sorted(missing)))
    sys.exit(1)
if os.waitstatus_to_exitcode(status) != 0 or "hợp lệ / valid" not in text:
    print("report not accepted")
    sys.exit(1)
print("interactive: asked for every mandatory field in Vietnamese and filed the report")
