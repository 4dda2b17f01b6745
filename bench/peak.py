"""How a benchmark's child process reports its peak memory: its own, from ``/proc/self/status``.

A child's ``ru_maxrss`` starts at its parent's resident size at the fork (Linux keeps it
across exec): a child of a 500 MB bench reports at least 500 MB whatever it used itself.
``VmHWM`` is the peak of the process's own memory. ``PEAK_MB`` is Python source to put at the
top of a child's code, which then calls ``peak_mb()``.
"""

PEAK_MB = '''
def peak_mb():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) / 1024
'''
