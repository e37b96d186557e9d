#!/usr/bin/env python3
# ptyrun.py: run a command on a pseudo-terminal, answering prompts. Used by the
# admin CLI test to check the no-echo password prompt.
# usage: ptyrun.py JSON  where JSON = {"argv": [...], "answers": [[prompt, reply], ...]}
# Prints {"code": exit status, "output": everything the terminal showed} as JSON.
import json, os, pty, select, sys, time

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(spec["argv"][0], spec["argv"])
out = b""
answers = list(spec["answers"])
deadline = time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if answers and out.decode(errors="replace").count(answers[0][0]) >= 1:
        prompt, reply = answers.pop(0)
        # Only this prompt's occurrence counts from here on.
        out = out.replace(prompt.encode(), b"<" + prompt.strip().encode() + b">", 1)
        time.sleep(0.1)
        os.write(fd, reply.encode())
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": out.decode(errors="replace")}))
