# Runs a crawl, samples the RSS (and CPU ticks) of every process under it every 50 ms.
import os, subprocess, sys, time
def tree(root):
    kids = {}
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            st = open(f'/proc/{p}/stat').read()
        except OSError: continue
        rest = st.rsplit(')',1)[1].split()
        kids.setdefault(int(rest[1]), []).append(int(p))
    out, todo = [], [root]
    while todo:
        x = todo.pop(); out.append(x); todo.extend(kids.get(x, []))
    return out
def rss_kb(pid, field='VmRSS:'):
    try:
        for line in open(f'/proc/{pid}/status'):
            if line.startswith(field): return int(line.split()[1])
    except OSError: pass
    return 0
def pss_kb(pid):
    try:
        for line in open(f'/proc/{pid}/smaps_rollup'):
            if line.startswith('Pss:'): return int(line.split()[1])
    except OSError: pass
    return 0
def ticks(pid):
    try:
        rest = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
        return int(rest[11]) + int(rest[12])
    except OSError: return 0
start = time.time()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
peak_browser = peak_crawler = 0; cpu = {}
while proc.poll() is None:
    pids = tree(proc.pid)
    browser = [p for p in pids if p != proc.pid]
    peak_browser = max(peak_browser, sum(pss_kb(p) for p in browser))
    peak_crawler = max(peak_crawler, rss_kb(proc.pid))
    for p in browser: cpu[p] = max(cpu.get(p, 0), ticks(p))
    time.sleep(0.05)
wall = time.time() - start
out = proc.stdout.read().decode()
hz = os.sysconf('SC_CLK_TCK')
print(out.strip().splitlines()[0] if out.strip() else '')
print(f'wall {wall:.1f} s; crawler peak RSS {peak_crawler/1024:.0f} MiB; browser tree peak PSS (RSS with shared pages split) {peak_browser/1024:.0f} MiB; browser tree CPU {sum(cpu.values())/hz:.1f} s')
