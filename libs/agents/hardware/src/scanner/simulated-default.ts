/**
 * The hardware of a simulated node when its directory has none yet: a fanless 4-core Atom edge box
 * with one NVMe disk, two Intel i226 ports (one up, DHCP) and a USB serial adapter.
 */
import type { RawFacts } from '../domain/raw-facts.js';

const CPU_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 sdbg cx16 xtpr pdcm sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave rdrand lahf_lm 3dnowprefetch cpuid_fault epb cat_l2 cdp_l2 ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust smep erms rdt_a rdseed smap clflushopt clwb intel_pt sha_ni xsaveopt xsavec xgetbv1 xsaves split_lock_detect dtherm ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp hwp_pkg_req umip waitpkg gfni rdpid movdiri movdir64b md_clear flush_l1d arch_capabilities';

function cpuinfoRecord(cpu: number): string {
  return [
    `processor\t: ${cpu}`,
    'vendor_id\t: GenuineIntel',
    'cpu family\t: 6',
    'model\t\t: 150',
    'model name\t: Intel(R) Atom(TM) x6425E  @ 2.00GHz',
    'physical id\t: 0',
    `siblings\t: 4`,
    `core id\t\t: ${cpu}`,
    'cpu cores\t: 4',
    `flags\t\t: ${CPU_FLAGS}`,
    '',
  ].join('\n');
}

export function defaultSimulatedFacts(): RawFacts {
  const cpus = [0, 1, 2, 3];
  return {
    cpuinfo: `${cpus.map(cpuinfoRecord).join('\n')}\n`,
    meminfo: 'MemTotal:        7949676 kB\nMemFree:         6021232 kB\nMemAvailable:    7104512 kB\n',
    osRelease:
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
    kernelRelease: '6.1.0-28-amd64\n',
    arch: 'x86_64',
    dmi: {
      sys_vendor: 'OnLogic\n',
      product_name: 'CL250\n',
      product_serial: 'SIM-CL250-000142\n',
      product_uuid: '4c4c4544-0042-3510-8052-b4c04f4e3232\n',
      bios_vendor: 'American Megatrends International, LLC.\n',
      bios_version: 'CL250.1.07\n',
      bios_date: '03/14/2024\n',
    },
    cpus: cpus.map((cpu) => ({ cpu, packageId: 0, coreId: cpu, maxKHz: 3000000 })),
    blocks: [
      {
        name: 'nvme0n1',
        virtual: false,
        sectors: 500118192,
        rotational: false,
        removable: false,
        model: 'Samsung SSD 980 250GB                   \n',
        serial: 'S64BNJ0R512345X     \n',
        wwid: 'eui.002538b511b12345\n',
      },
      { name: 'loop0', virtual: true },
    ],
    nets: [
      {
        name: 'enp1s0',
        virtual: false,
        address: '00:30:18:0a:1b:2c\n',
        operstate: 'up\n',
        speed: 1000,
        mtu: 1500,
        pciAddress: '0000:01:00.0',
        ipv4: ['192.168.10.42/24'],
        dhcp: true,
      },
      {
        name: 'enp2s0',
        virtual: false,
        address: '00:30:18:0a:1b:2d\n',
        operstate: 'down\n',
        speed: -1,
        mtu: 1500,
        pciAddress: '0000:02:00.0',
        ipv4: [],
        dhcp: false,
      },
      { name: 'lo', virtual: true },
    ],
    ifInet6:
      'fe800000000000000230180afe0a1b2c 02 40 20 80   enp1s0\n00000000000000000000000000000001 01 80 10 80       lo\n',
    pci: [{ address: '0000:00:02.0', vendor: '0x8086\n', device: '0x4571\n', class: '0x030000\n' }],
    usb: [
      {
        name: 'usb1',
        busnum: '1\n',
        devnum: '1\n',
        idVendor: '1d6b\n',
        idProduct: '0002\n',
        bDeviceClass: '09\n',
        manufacturer: 'Linux 6.1.0-28-amd64 xhci-hcd\n',
        product: 'xHCI Host Controller\n',
        serial: '0000:00:14.0\n',
      },
      {
        name: '1-2',
        busnum: '1\n',
        devnum: '3\n',
        idVendor: '0403\n',
        idProduct: '6001\n',
        bDeviceClass: '00\n',
        manufacturer: 'FTDI\n',
        product: 'FT232R USB UART\n',
        serial: 'A10K7QXY\n',
      },
    ],
    memoryModules: [
      {
        locator: 'Controller0-ChannelA',
        sizeBytes: 8589934592,
        type: 'LPDDR4',
        speedMts: 3200,
        manufacturer: 'Samsung',
        partNumber: 'K4UBE3D4AB-MGCL',
        serial: '00000000',
      },
    ],
    problems: [],
  };
}
