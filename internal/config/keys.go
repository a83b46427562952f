package config

import (
	"fmt"
	"strings"
)

// Keys hostnet reads. Everything else in the file is either a Cloudpods
// host.conf key (ignored silently) or unknown (a warning).
const (
	keyNetworks             = "networks"
	keyBridgeDriver         = "bridge_driver"
	keyDatapathType         = "ovs_datapath_type"
	keyOVNIntegrationBridge = "ovn_integration_bridge"
	keyOVNEncapIP           = "ovn_encap_ip"
	keyOVNSouthDatabase     = "ovn_south_database"
	keyOVNEncapType         = "ovn_encap_type"
	keyHostVLANs            = "host_vlans"
	keyOVSRundir            = "ovs_rundir"
	keyOVSTimeout           = "ovs_timeout"
	keyStateDir             = "state_dir"
)

var hostnetKeys = []string{
	keyNetworks, keyBridgeDriver, keyDatapathType, keyOVNIntegrationBridge, keyOVNEncapIP,
	keyOVNSouthDatabase, keyOVNEncapType, keyHostVLANs, keyOVSRundir, keyOVSTimeout, keyStateDir,
}

// cloudpodsKeys are keys of Cloudpods' /etc/yunion/host.conf (the host
// agent's options, its common and base options, their aliases, and keys of
// older releases) that hostnet does not use. Pointing --config at a
// Cloudpods host.conf must not print a warning for each of them.
var cloudpodsKeys = toSet(
	// base options
	"config", "help", "version", "region", "auth_region", "zone", "port", "bind_port", "address",
	"bind_host", "debug_client", "log_level", "log_with_time_zone", "log_timestamp_format",
	"log_verbose_level", "log_file_prefix", "cors_hosts", "temp_path", "application_id",
	"request_worker_count", "task_worker_count", "default_process_timeout_seconds", "enable_ssl",
	"ssl_ca_certs", "ca_file", "ssl_certfile", "cert_file", "ssl_keyfile", "key_file",
	"notify_admin_users", "notify_admin_groups", "rbac_debug", "rbac_policy_refresh_interval_seconds",
	"policy_worker_count", "config_sync_period_seconds", "is_slave_node", "cron_job_worker_count",
	"enable_quota_check", "default_quota_value", "calculate_quota_usage_interval_seconds",
	"non_default_domain_projects", "time_zone", "domainized_namespace", "api_server",
	"customized_private_prefixes", "global_http_proxy", "global_https_proxy",
	"ignore_nonrunning_guests", "platform_name", "platform_names", "enable_app_profiling",
	// common (keystone) options
	"auth_url", "auth_uri", "admin_user", "admin_domain", "admin_password", "admin_passwd",
	"admin_project", "admin_tenant_name", "admin_project_domain", "auth_token_cache_size",
	"tenant_cache_expire_seconds", "session_endpoint_type",
	// host common and etcd options
	"executor_socket_path", "deploy_server_socket_path", "enable_remote_executor",
	"executor_connect_timeout_seconds", "enable_isolated_device_whitelist", "etcd_endpoints",
	"etcd_username", "etcd_password", "etcd_use_tls", "etcd_skip_tls_verify", "etcd_cacert",
	"etcd_cert", "etcd_key",
	// host agent options
	"master_address", "master_port", "master_protocol", "manage_ntp_configuration",
	"disable_security_group", "host_cpu_passthrough", "live_migrate_cpu_throttle_max",
	"default_qemu_version", "no_hpet", "cdrom_count", "floppy_count", "disable_local_vpc",
	"dhcp_lease_time", "dhcp_renewal_time", "ext4_largefile_size_gb", "ext4_hugefile_size_gb",
	"image_cache_expire_days", "image_cache_cleanup_percentage", "image_cache_cleanup_on_startup",
	"image_cache_cleanup_dry_run", "telegraf_kafka_output_topic",
	"telegraf_kafka_output_sasl_username", "telegraf_kafka_output_sasl_password",
	"telegraf_kafka_output_sasl_mechanism", "common_config_file", "local_config_file", "host_type",
	"listen_interface", "rack", "slots", "hostname", "servers_path", "images_path",
	"image_cache_path", "image_cache_limit", "memory_snapshots_path", "agent_temp_path",
	"agent_temp_limit", "recycle_diskfile", "recycle_diskfile_keep_days", "always_recycle_diskfile",
	"zero_clean_disk_data", "enable_template_backing", "auto_merge_backing_template",
	"auto_merge_delay_seconds", "enable_fallocate_disk", "enable_monitor", "report_interval",
	"bw_download_bandwidth", "dns_server", "dns_server_legacy", "chntpw_path", "ovmf_path",
	"linux_default_root_user", "windows_default_admin_user", "block_io_scheduler", "enable_ksm",
	"hugepages_option", "hugepage_size_mb", "private_prefixes", "local_image_path",
	"local_backup_path", "shared_storages", "lvm_volume_groups", "dhcp_relay",
	"tunnel_padding_bytes", "tunnel_key_bits", "check_system_services", "dhcp_server_port",
	"fetcherfs_path", "fetcherfs_block_size", "default_image_save_format",
	"default_read_bps_per_cpu", "default_read_iops_per_cpu", "default_write_bps_per_cpu",
	"default_write_iops_per_cpu", "set_vnc_password", "use_boot_vga", "boot_vga_pci_addr",
	"enable_host_agent_numa_allocate", "enable_cpu_binding", "enable_openflow_controller",
	"ping_region_interval", "log_systemd_units", "bandwidth_limit", "migrate_expect_rate",
	"min_migrate_timeout_seconds", "snapshot_dir_suffix", "snapshot_recycle_day",
	"enable_telegraf", "disable_set_cgroup", "max_reserved_memory", "reserved_memory",
	"reserved_cpus", "cpu_cmtbound", "mem_cmtbound", "lxcfs_path",
	"default_request_worker_count", "allow_switch_vms", "allow_router_vms", "sdn_pid_file",
	"sdn_socket_path", "sdn_enable_guest_man", "sdn_enable_eip_man", "sdn_enable_tc_man",
	"sdn_enable_tap_man", "tap_bridge_name", "sdn_allow_conntrack_invalid",
	"ovn_encap_ip_detection_method", "ovn_underlay_mtu", "ovn_mapped_ip_addr", "ovs_log_level",
	"host_health_timeout", "host_lease_timeout", "sync_storage_info_duration_second",
	"disable_probe_kubelet", "kubelet_run_directory", "disable_kvm", "disable_gpu",
	"disable_custom_device", "disable_usb", "sriov_nics", "ovs_offload_nics", "ptnvme_configs",
	"pt_nvme_configs", "amd_vgpu_pfs", "nvidia_vgpu_pfs", "ethtool_enable_gso",
	"ethtool_enable_gso_interfaces", "ethtool_disable_gso_interfaces", "enable_vm_uuid",
	"enable_virtio_rng_device", "restrict_qemu_img_convert_worker",
	"default_live_migrate_downtime", "local_backup_storage_path", "local_backup_temp_path",
	"binary_memclean_path", "max_hotplug_vcpu_count", "max_hotplug_v_cpu_count",
	"pcie_root_port_count", "enable_qemu_debug_log",
)

func toSet(keys ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// unknownKeyWarning builds the warning for a key that is neither hostnet's
// nor Cloudpods'.
func unknownKeyWarning(file string, line int, key string) Warning {
	msg := fmt.Sprintf("%s:%d: unknown key %q ignored", file, line, key)
	if s := suggestKey(key); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return Warning{Key: key, Message: msg}
}

// suggestKey returns the known key nearest to key, or "" when none is close.
// Nearest is by edit distance; hostnet's own keys win ties (a typo of theirs
// changes behaviour), and a key that contains or is contained in exactly one
// hostnet key ("datapath_type") is a near miss too.
func suggestKey(key string) string {
	if len(key) > 64 {
		return ""
	}
	norm := normalizeKey(key)
	limit := 1
	switch {
	case len(norm) > 10:
		limit = 3
	case len(norm) > 4:
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, k := range hostnetKeys {
		if d := keyDistance(norm, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	for k := range cloudpodsKeys {
		// Map order is random: among equally near Cloudpods keys the first
		// in sort order wins, and never over a hostnet key.
		d := keyDistance(norm, k)
		if d < bestDist || d == bestDist && !isHostnetKey(best) && k < best {
			best, bestDist = k, d
		}
	}
	if best != "" || len(norm) < 6 {
		return best
	}
	for _, k := range hostnetKeys {
		if strings.Contains(k, norm) || strings.Contains(norm, k) {
			if best != "" {
				return "" // ambiguous
			}
			best = k
		}
	}
	return best
}

func isHostnetKey(k string) bool {
	for _, h := range hostnetKeys {
		if h == k {
			return true
		}
	}
	return false
}

// normalizeKey folds the variations people type: case, and - for _.
func normalizeKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "-", "_")
}

// keyDistance is the optimal string alignment distance (Levenshtein plus
// adjacent transpositions), over bytes.
func keyDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
