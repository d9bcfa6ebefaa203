# Destroy: remove the drop-in, validate, reload; put it back if sshd would not accept
# the configuration without it.
AR_STEP=sshd-remove
dropin=/etc/ssh/sshd_config.d/00-agent-runtime.conf
[[ -f $dropin ]] || { echo "sshd: nothing to remove"; exit 0; }
install -d -m 0755 /run/sshd
mv -f "$dropin" /etc/ssh/.00-agent-runtime.conf.removed
if ! out=$(sshd -t 2>&1); then
  mv -f /etc/ssh/.00-agent-runtime.conf.removed "$dropin"
  die "sshd -t fails without the drop-in, kept it: $out"
fi
rm -f /etc/ssh/.00-agent-runtime.conf.removed
for unit in ssh.service sshd.service; do
  if systemctl is-active --quiet "$unit"; then systemctl reload "$unit"; break; fi
done
echo "sshd: drop-in removed"
