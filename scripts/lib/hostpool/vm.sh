# shellcheck shell=bash
# hostpool.sh, part 6 of 6 (sourced by scripts/hostpool.sh): hosts of kind `vm` — a real
# kernel under QEMU (TCG: no KVM here), so cgroup limits are enforced and auditd runs.
# The image is the cached rootfs plus Debian's kernel, as an ext4 disk (cached next to
# the rootfs, keyed by it); each boot gets a qcow2 overlay on it and a small seed disk
# with the host's own keys, name and address. The VM sits on the pool bridge through a
# tap in its own network namespace, exactly where a container's veth would be: same
# address plan, port 22, no route out.

# Bump when the image steps below change: it is part of the cache key.
readonly VM_IMAGE_VERSION=1
readonly VM_PACKAGES=(linux-image-amd64 initramfs-tools zstd udev)
readonly VM_DISK_SIZE=3G
readonly VM_MEMORY=${AGENT_RUNTIME_VM_MEMORY:-1024}
# no_timer_check: on a loaded machine the emulated timer is too slow for the kernel's
# IO-APIC timer check, which then panics ("IO-APIC + timer doesn't work!").
readonly VM_KERNEL_ARGS="no_timer_check"
# Units a test server never needs; fewer units is a faster boot under TCG.
readonly VM_MASKED=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service
  fstrim.timer man-db.timer systemd-networkd-wait-online.service getty@tty1.service
  systemd-timesyncd.service dpkg-db-backup.timer)

vm_image_path() { # rootfs
  local hash
  hash=$(printf 'v=%s rootfs=%s packages=%s size=%s masked=%s\n' "$VM_IMAGE_VERSION" \
    "$(basename "$1")" "${VM_PACKAGES[*]}" "$VM_DISK_SIZE" "${VM_MASKED[*]}" | sha256sum | cut -c1-12)
  printf '%s/vm/%s-%s\n' "$CACHE_DIR" "$(basename "$1")" "$hash"
}

# The first-boot unit that applies the seed disk (/dev/vdb) before networkd and sshd.
vm_seed_files() { # root
  install -d -m 0755 "$1/usr/local/lib/agent-runtime-vm" "$1/etc/systemd/system/sysinit.target.wants"
  cat >"$1/usr/local/lib/agent-runtime-vm/seed" <<'SEED'
#!/bin/sh
# agent-runtime test VM: this host's keys, name and address from the seed disk (vdb).
set -eu
i=0
while [ ! -b /dev/vdb ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vdb ] || { echo "seed: no /dev/vdb after 30 s" >&2; exit 1; }
s=/run/agent-runtime-seed
mkdir -p "$s"
mount -o ro /dev/vdb "$s"
install -m 0600 "$s/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 "$s/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 0700 /root/.ssh
install -m 0600 "$s/authorized_keys" /root/.ssh/authorized_keys
install -m 0644 "$s/hostname" /etc/hostname
install -m 0644 "$s/hosts" /etc/hosts
install -m 0644 "$s/10-agent-runtime.network" /etc/systemd/network/10-agent-runtime.network
hostname "$(cat /etc/hostname)"
umount "$s"
mkdir -p /var/lib/agent-runtime-vm
touch /var/lib/agent-runtime-vm/seeded
SEED
  chmod 0755 "$1/usr/local/lib/agent-runtime-vm/seed"
  cat >"$1/etc/systemd/system/agent-runtime-seed.service" <<'UNIT'
[Unit]
Description=agent-runtime test VM: per-host settings from the seed disk
DefaultDependencies=no
After=local-fs.target systemd-remount-fs.service
Before=sysinit.target systemd-networkd.service ssh.service
ConditionPathExists=!/var/lib/agent-runtime-vm/seeded

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/agent-runtime-vm/seed

[Install]
WantedBy=sysinit.target
UNIT
  ln -sf ../agent-runtime-seed.service "$1/etc/systemd/system/sysinit.target.wants/agent-runtime-seed.service"
}

ensure_vm_image() { # rootfs — prints the image dir (disk.raw, vmlinuz, initrd.img)
  local rootfs=$1 dest tmp start
  dest=$(vm_image_path "$rootfs")
  if [[ -f $dest/.agent-runtime-vm ]]; then
    printf '%s\n' "$dest"
    return
  fi
  { command -v qemu-system-x86_64 && command -v qemu-img; } >/dev/null ||
    die "VM hosts need QEMU: apt-get install -y qemu-system-x86 qemu-utils (scripts/setup.sh --hosts does it)"
  command -v mkfs.ext4 >/dev/null || die "VM hosts need mkfs.ext4: apt-get install -y e2fsprogs"
  mkdir -p "$CACHE_DIR/vm"
  exec 7>"$CACHE_DIR/vm/.lock"
  flock -w 1800 7 || die "timed out waiting for another VM image build ($CACHE_DIR/vm/.lock)"
  if [[ -f $dest/.agent-runtime-vm ]]; then
    exec 7>&-
    printf '%s\n' "$dest"
    return
  fi
  for tmp in "$CACHE_DIR"/vm/.build-*; do
    [[ -d $tmp ]] || continue
    log "removing crashed VM image build $tmp"
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
  done
  start=$SECONDS
  tmp=$(mktemp -d "$CACHE_DIR/vm/.build-XXXXXX")
  local root=$tmp/root blog=$CACHE_DIR/vm/.build.log
  log "VM image: copying $rootfs and installing ${VM_PACKAGES[*]} (about a minute)"
  cp -a --one-file-system "$rootfs" "$root"
  # A chroot that can reach the mirror but starts no service.
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  install -d "$root/etc/initramfs-tools/conf.d"
  printf 'COMPRESS=zstd\n' >"$root/etc/initramfs-tools/conf.d/agent-runtime"
  mount -t proc proc "$root/proc"
  if ! {
    chroot "$root" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends "${VM_PACKAGES[@]}" &&
      chroot "$root" apt-get clean
  } >"$blog" 2>&1; then
    tail -n 30 "$blog" >&2
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
    die "VM image: installing the kernel failed (log: $blog)"
  fi
  umount_below "$tmp"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/var/lib/apt/lists/"*_* 2>/dev/null || true
  printf '# agent-runtime test host: no DNS, connect by IP\n' >"$root/etc/resolv.conf"
  local kver
  kver=$(basename "$(ls -d "$root"/lib/modules/*)")
  cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
  cp "$root/boot/initrd.img-$kver" "$tmp/initrd.img"
  # No fstab entry: the kernel mounts / read-write from the command line, and an entry
  # would make boot wait for a device unit.
  printf '# agent-runtime test VM: / is mounted by the kernel (root=/dev/vda rw)\n' >"$root/etc/fstab"
  vm_seed_files "$root"
  chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
  chroot "$root" systemctl mask "${VM_MASKED[@]}" >/dev/null 2>&1
  if ! mkfs.ext4 -q -L agent-runtime -d "$root" "$tmp/disk.raw" "$VM_DISK_SIZE" >>"$blog" 2>&1; then
    tail -n 10 "$blog" >&2
    rm -rf --one-file-system "$tmp"
    die "VM image: mkfs.ext4 -d failed (log: $blog)"
  fi
  rm -rf --one-file-system "$root"
  printf 'v=%s rootfs=%s kernel=%s\n' "$VM_IMAGE_VERSION" "$(basename "$rootfs")" "$kver" >"$tmp/.agent-runtime-vm"
  mv -T "$tmp" "$dest"
  # Images of other rootfs versions or image steps of this suite and flavour are dead
  # weight (~600 MB each) unless a running VM still uses one.
  local old
  for old in "$CACHE_DIR/vm/$ROOTFS_PREFIX"-*/; do
    old=${old%/}
    [[ $old != "$dest" && -f $old/.agent-runtime-vm ]] || continue
    grep -qsxF "$old" "$RUN_DIR"/*/*.image || rm -rf --one-file-system "$old"
  done
  exec 7>&-
  log "VM image ready in $((SECONDS - start)) s: $dest (kernel $kver, $(du -sh "$dest" | cut -f1) on disk)"
  printf '%s\n' "$dest"
}

# True if $1 is a live QEMU of pool $2 (guards against PID reuse, like is_our_nspawn).
is_our_vm() {
  local pid=$1 pool=$2 cmd
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *qemu-system-x86_64* && $cmd == *"file=$LIB_DIR/$pool/"* ]]
}

setup_vm_host() { # pool idx name addr rootfs bridge
  local pool=$1 name=$3 addr=$4 rootfs=$5 br=$6
  local lib=$LIB_DIR/$1 dir=$LIB_DIR/$1/$3 ns=ar-$1-$2 veth=ar-$1-$2 image
  image=$(ensure_vm_image "$rootfs")
  mkdir -p "$dir/seed"
  # The per-host part: fresh host key, the pool key for root, name, static address.
  ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$dir/seed/ssh_host_ed25519_key"
  cp "$dir/seed/ssh_host_ed25519_key.pub" "$dir/ssh_host_ed25519_key.pub"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$lib/known_hosts"
  cp "$lib/id_ed25519.pub" "$dir/seed/authorized_keys"
  printf '%s\n' "$name" >"$dir/seed/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$name" >"$dir/seed/hosts"
  # No Gateway=: like a container's namespace, the VM has no default route.
  printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    "$addr" >"$dir/seed/10-agent-runtime.network"
  mkfs.ext4 -q -L arseed -d "$dir/seed" "$dir/seed.raw" 8M >/dev/null 2>&1 || die "$name: mkfs.ext4 of the seed disk failed"
  qemu-img create -q -f qcow2 -F raw -b "$image/disk.raw" "$dir/overlay.qcow2"
  printf '%s\n' "$image" >"$RUN_DIR/$pool/$name.image"
  # The namespace holds a bridge joining the pool link (eth0) and QEMU's tap: the VM's
  # interface is then on the pool bridge, and QEMU itself has no other network.
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  echo 1 >"/proc/sys/net/ipv6/conf/$veth/disable_ipv6"
  ip link set "$veth" master "$br" up
  ip -n "$ns" link add br0 type bridge
  ip -n "$ns" tuntap add dev tap0 mode tap
  ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
  ip -n "$ns" link set eth0 master br0 up
  ip -n "$ns" link set tap0 master br0 up
  ip -n "$ns" link set br0 up
  local mac
  mac=$(printf '52:54:00:d5:%02x:%02x' "$((${addr##*.} / 256))" "$((${addr##*.} % 256))")
  (
    exec setsid ip netns exec "$ns" qemu-system-x86_64 -name "$name" -nodefaults -no-user-config \
      -machine q35 -accel tcg,tb-size=256 -cpu max -smp 2 -m "$VM_MEMORY" \
      -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0 audit=1 audit_backlog_limit=8192 systemd.show_status=0 $VM_KERNEL_ARGS" \
      -drive "file=$dir/overlay.qcow2,if=virtio,format=qcow2" \
      -drive "file=$dir/seed.raw,if=virtio,format=raw,readonly=on" \
      -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "virtio-net-pci,netdev=n0,mac=$mac" \
      -serial "file:$RUN_DIR/$pool/$name.console" -monitor none -display none
  ) </dev/null >"$RUN_DIR/$pool/$name.log" 2>&1 9>&- 8>&- 7>&- &
  printf '%s\n' "$!" >"$RUN_DIR/$pool/$name.pid"
}

# True if a VM's console shows a kernel panic: no point waiting for its ssh.
vm_panicked() { grep -q 'Kernel panic' "$RUN_DIR/$1/$2.console" 2>/dev/null; }
