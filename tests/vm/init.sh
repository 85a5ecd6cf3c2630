#!/bin/sh
# /init of the test initramfs: mount what bpf(2) and keyrings need, run the
# matrix, the command line's rows and (with the Debian package installed)
# the service's, print them on the serial console, power off.
/bin/busybox mount -t devtmpfs none /dev
/bin/busybox mount -t proc none /proc
/bin/busybox mount -t sysfs none /sys
/bin/busybox mount -t bpf none /sys/fs/bpf 2>/dev/null
/bin/busybox mount -t securityfs none /sys/kernel/security 2>/dev/null
/bin/busybox mount -t tracefs none /sys/kernel/tracing 2>/dev/null
/bin/busybox mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
/bin/busybox ip link set lo up 2>/dev/null
echo "VM-START $(/bin/busybox uname -r)"
echo "LSM $(/bin/busybox cat /sys/kernel/security/lsm 2>/dev/null)"
if [ -x /bin/user_script ]; then
  /bin/user_script /data
  echo "USER-EXIT $?"
  /bin/busybox poweroff -f
fi
/bin/vm_matrix /data
echo "VM-EXIT $?"
/bin/cli_rows /data
echo "CLI-EXIT $?"
/bin/gate_rows /data
echo "GATE-EXIT $?"
if [ -x /bin/service_rows ]; then
  /bin/service_rows /data
  echo "SERVICE-EXIT $?"
fi
/bin/busybox poweroff -f
