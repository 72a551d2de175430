// `npm run image` (as root): a bootable Outpost node disk for QEMU/OVMF and signed update payloads.
//
//   node tools/image/build.mjs [--json]
//
// Made from Debian 12 packages (debootstrap minbase, this machine's apt mirror) and the project's own
// bundle (`npm run bundle`) laid out by the bundle's deploy/install.sh --root, exactly as on a node.
// Cached by content hash under $OUTPOST_IMAGE_CACHE (default <repo>/.cache/outpost-image):
//
//   base-<hash>/root           debootstrap tree (inputs: suite, mirror, package list)      ~5-10 min cold
//   bundle-<hash>/outpost      npm run bundle output (inputs: the sources git tracks)      ~20 s
//   image-<hash>/              everything below (inputs: the two above, this builder)     ~1-2 min
//     disk.img                 GPT: esp (vfat, systemd-boot), rootfs_a (1.0.0), rootfs_b (empty), data
//     rootfs-<v>.img.gz        update payloads: 2.0.0 (good), 2.0.1 (never reaches user space)
//     manifest-<v>.json        their manifests (proto3 JSON), signed with the test key below
//     update-test.pem          the ed25519 key the payloads are signed with (trusted by the image)
//     admin.nk                 the node NATS admin seed (the host talks to the guest's bus as operator)
//     image.json               what was built: versions, node id, sizes, URLs, hashes
//
// The printed (or --json) result is image.json. A rerun with unchanged inputs only hashes the sources.
// See docs/boot-test.md.
import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { baseKey, baseTree } from './base.mjs';
import { cached, cacheDir, fileSha256, log, repoRoot, run, sha256 } from './lib.mjs';
import { buildEsp, buildUki } from './esp.mjs';
import { assembleDisk, LAYOUT } from './disk.mjs';

export const NODE_ID = 'qemu-node-1';
export const MACHINE_ID = '4f7574706f7374516d756e6f64653031';
export const BASE_VERSION = '1.0.0';
/** Where the guest reaches the host's image server (guestfwd): fixed, so the manifests are signed at build. */
export const IMAGE_SERVER = 'http://10.0.2.100';
export const PAYLOADS = [
  { version: '2.0.0', variant: 'good' },
  { version: '2.1.0', variant: 'good' },
  { version: '2.0.1', variant: 'no-init' },
];
/** Kernel command line of every slot (root= is swapped per slot). panic=5: a failed boot resets. */
export const KERNEL_OPTIONS = 'rw console=ttyS0,115200 panic=5 systemd.show_status=1';

const BUILDER_FILES = ['build.mjs', 'base.mjs', 'lib.mjs', 'esp.mjs', 'disk.mjs', 'manifest.mjs'];

/** The sources the bundle is made of, as git sees them (tracked content and uncommitted changes). */
function sourceKey() {
  const paths = [
    'apps',
    'libs',
    'deploy',
    'tools/scripts',
    'proto',
    'package.json',
    'package-lock.json',
    'tsconfig.base.json',
    'tsconfig.build.json',
  ];
  const git = (...args) => run('git', args, { capture: true, cwd: repoRoot });
  // Content, not history: the index's blob ids, plus the working-tree content of files changed against
  // the index and of untracked ones (a commit of the same content keeps the key).
  const tracked = git('ls-files', '-s', '--', ...paths);
  const list = (...args) =>
    git(...args, '--', ...paths)
      .split('\n')
      .filter(Boolean);
  const changed = [...list('diff', '--name-only'), ...list('ls-files', '--others', '--exclude-standard')]
    .sort()
    .map((f) => `${f} ${existsSync(join(repoRoot, f)) ? fileSha256(join(repoRoot, f)) : 'deleted'}`);
  return sha256('bundle-v2', tracked, changed);
}

function bundle(cache) {
  const key = sourceKey();
  const dir = join(cache, `bundle-${key.slice(0, 16)}`);
  if (!existsSync(dir)) log(`bundle: npm run bundle (sources ${key.slice(0, 16)})`);
  cached(dir, (tmp) => {
    run(process.execPath, [join(repoRoot, 'tools/scripts/bundle.mjs'), '--out', join(tmp, 'outpost')], {
      cwd: repoRoot,
      quiet: true,
    });
  });
  prune(cache, 'bundle-', dir);
  return { key, dir: join(dir, 'outpost') };
}

/** Removes other cache entries with this prefix (older inputs), keeping `keep`. */
function prune(cache, prefix, keep) {
  for (const name of readdirSync(cache))
    if (name.startsWith(prefix) && join(cache, name) !== keep)
      rmSync(join(cache, name), { recursive: true, force: true });
}

/** The test signing key: made once per cache, so images built from it trust the same key. */
function testKey(cache) {
  const path = join(cache, 'update-test.pem');
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  }
  const pem = readFileSync(path, 'utf8');
  const pub = createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' }).subarray(12);
  return { path, pem, publicBase64: pub.toString('base64') };
}

const write = (path, text, mode = 0o644) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
};

/**
 * The node's root file system, common to every version: base + Outpost installed (all-in-one: one Node
 * process for all agents, the mode for small devices, and the quickest to boot under emulation).
 */
function commonTree(base, bundleDir, key, out) {
  const root = join(out, 'root');
  run('cp', ['-a', '--reflink=auto', join(base, 'root'), root]);
  write(join(root, 'etc/hostname'), 'outpost-node\n');
  write(join(root, 'etc/machine-id'), `${MACHINE_ID}\n`, 0o444);
  write(join(root, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 outpost-node\n::1 localhost\n');
  // Network: DHCP from QEMU's user-mode network (10.0.2.15); the host reaches NATS by hostfwd only.
  write(
    join(root, 'etc/systemd/network/20-wired.network'),
    '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n',
  );
  run('systemctl', [`--root=${root}`, 'enable', '--quiet', 'systemd-networkd.service']);
  // A root shell on the second serial port: how the test runs `bootctl list` and journalctl in the guest.
  // A test image's convenience, never a production node's.
  write(
    join(root, 'etc/systemd/system/serial-getty@ttyS1.service.d/autologin.conf'),
    '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I dumb\n',
  );
  run('systemctl', [`--root=${root}`, 'enable', '--quiet', 'serial-getty@ttyS1.service']);
  run('systemctl', [`--root=${root}`, 'disable', '--quiet', 'nats-server.service']);
  run('systemctl', [
    `--root=${root}`,
    'mask',
    '--quiet',
    'systemd-timesyncd.service',
    'apt-daily.timer',
    'apt-daily-upgrade.timer',
    'e2scrub_all.timer',
    'fstrim.timer',
  ]);

  run(
    join(bundleDir, 'deploy/install.sh'),
    ['--root', root, '--mode', 'all-in-one', '--node-id', NODE_ID, '--no-start'],
    {
      quiet: true,
    },
  );
  const gid = (name) =>
    readFileSync(join(root, 'etc/group'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.split(':')[2];
  // Mounts: the ESP at /efi, root-owned and readable (the agent reads it; the root-side boot helper,
  // outpost-boot@.service, writes it: docs/deploy.md); the persistent data partition at /var/lib/outpost (agent state, the staged image, the JetStream store).
  write(
    join(root, 'etc/fstab'),
    [
      '# <file system>      <mount point>     <type> <options>                                        <dump> <pass>',
      'PARTLABEL=data        /var/lib/outpost  ext4   defaults,noatime                                 0 2',
      'PARTLABEL=esp         /efi              vfat   umask=0022,flush                                 0 2',
      '',
    ].join('\n'),
  );
  mkdirSync(join(root, 'efi'), { recursive: true });
  // Software emulation (QEMU TCG, no KVM) runs JavaScript 10-30x slower than the host: the all-in-one
  // process needs ~90 s of emulated CPU to load and start, right at the unit's 90 s start timeout. The
  // test image allows more, and keeps V8's compile cache across boots (NODE_COMPILE_CACHE), which a
  // real node could use too.
  for (const unit of ['outpost-edge-node.service', 'outpost-nats-provision.service'])
    write(
      join(root, `etc/systemd/system/${unit}.d/emulation.conf`),
      [
        '[Service]',
        'TimeoutStartSec=15min',
        `CacheDirectory=outpost/${unit.replace(/^outpost-|\.service$/g, '')}`,
        `Environment=NODE_COMPILE_CACHE=%C/outpost/${unit.replace(/^outpost-|\.service$/g, '')}`,
        '',
      ].join('\n'),
    );
  // The host (the operator and the test) reaches the guest's NATS through QEMU's hostfwd, which connects
  // to the guest's own address: listen on every interface of the guest (the VM has only user-mode net).
  // The installed tool renders the configuration again with that one change (the seeds are kept).
  const natsDir = join(root, 'etc/outpost/nats');
  run(
    join(root, 'opt/outpost/node/bin/node'),
    [
      join(root, 'opt/outpost/tools/nats-config.mjs'),
      ...['--node-id', NODE_ID, '--out', natsDir, '--mode', 'all-in-one', '--host', '0.0.0.0'],
      ...['--store-dir', '/var/lib/outpost/nats/jetstream'],
    ],
    { quiet: true },
  );
  const natsGid = gid('outpost-nats');
  run('chown', [`0:${natsGid}`, join(natsDir, 'nats-server.conf')]);
  chmodSync(join(natsDir, 'nats-server.conf'), 0o640);
  run('chown', ['-R', '0:0', join(natsDir, 'creds')]);
  if (!/^host: "0\.0\.0\.0"$/m.test(readFileSync(join(natsDir, 'nats-server.conf'), 'utf8')))
    throw new Error('nats-server.conf: the guest NATS does not listen on 0.0.0.0');
  // The test node starts an update at the opening of a window: no jitter (spreading a fleet's starts
  // over a window's first quarter is for fleets; one node would only wait).
  write(join(root, 'etc/outpost/orchestrator.json'), '{ "jitterPercent": 0 }\n');
  // Update signing key of the tests.
  write(join(root, 'etc/outpost/update-keys.d/test.pub'), `${key.publicBase64}\n`);
  return root;
}

/** A version's root tree: the common tree plus its version marker (and the variant's defect). */
function versionTree(common, out, version, variant) {
  const root = join(out, `root-${version}`);
  if (variant === 'no-init') {
    // Never reaches user space: a root file system with nothing the initramfs could hand over to
    // (run-init tries /sbin/init, /etc/init, /bin/init and then /bin/sh, which the boot test saw become
    // PID 1 and wait forever), so it gives up with "No init found" and, with panic=5 on the command
    // line, resets the machine. Only the mount points the initramfs moves its mounts to: the payload is
    // a few MB instead of a whole system's (one less 165 MB download and 550 MB slot write per run).
    for (const d of ['dev', 'proc', 'sys', 'run', 'etc']) mkdirSync(join(root, d), { recursive: true });
  } else {
    run('cp', ['-a', '--reflink=auto', common, root]);
    // The kernel and initramfs boot from the slot's UKI on the ESP: their copies in /boot are dead
    // weight in every slot image and update payload (~27 MB, already compressed).
    for (const f of readdirSync(join(root, 'boot')))
      if (/^(vmlinuz|initrd\.img)-/.test(f)) rmSync(join(root, 'boot', f), { force: true });
  }
  write(
    join(root, 'etc/outpost-image'),
    `OUTPOST_IMAGE_VERSION=${version}\nOUTPOST_IMAGE_VARIANT=${variant}\n`,
  );
  return root;
}

/** ext4 image of a tree, sized to its content plus room, owner and modes as in the tree. */
function ext4Image(tree, path, label, minMiB = 0) {
  const usedKiB = Number(run('du', ['-sk', '--apparent-size', tree], { capture: true }).split('\t')[0]);
  const mib = Math.max(minMiB, Math.ceil((usedKiB * 1.15) / 1024 + 48));
  run(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-L',
      label,
      '-m',
      '0',
      '-b',
      '4096',
      '-N',
      '32768',
      '-E',
      'root_owner=0:0',
      '-d',
      tree,
      path,
      `${mib}M`,
    ],
    { quiet: true },
  );
  return statSync(path).size;
}

export async function build() {
  const t0 = Date.now();
  if (process.getuid?.() !== 0) throw new Error('the image build needs root (debootstrap, file owners)');
  const cache = cacheDir();
  const base = baseTree(cache);
  const bun = bundle(cache);
  const key = testKey(cache);
  // Signing uses the project's built code (dist/, made by the bundle step above).
  const { signedManifest, MANIFEST_HAS_BOOT_FILES } = await import('./manifest.mjs');
  const builder = BUILDER_FILES.map((f) => readFileSync(join(repoRoot, 'tools/image', f), 'utf8'));
  const imageKey = sha256(
    'image-v1',
    baseKey(),
    bun.key,
    key.publicBase64,
    builder,
    NODE_ID,
    PAYLOADS,
    KERNEL_OPTIONS,
    LAYOUT,
  );
  const dir = join(cache, `image-${imageKey.slice(0, 16)}`);
  if (!existsSync(dir)) log(`image: building ${imageKey.slice(0, 16)}`);
  cached(dir, (out) => {
    const work = join(out, 'work');
    mkdirSync(work);
    try {
      const common = commonTree(base, bun.dir, key, work);
      // /var/lib/outpost lives on the data partition: its content (made by install.sh) goes there.
      const data = join(work, 'data');
      run('cp', ['-a', join(common, 'var/lib/outpost'), data]);
      rmSync(join(common, 'var/lib/outpost'), { recursive: true });
      mkdirSync(join(common, 'var/lib/outpost'), { mode: 0o755 });
      copyFileSync(join(common, 'etc/outpost/nats/creds/admin.nk'), join(out, 'admin.nk'));
      chmodSync(join(out, 'admin.nk'), 0o600);

      const versions = [{ version: BASE_VERSION, variant: 'good' }, ...PAYLOADS];
      const built = {};
      for (const { version, variant } of versions) {
        const tree = versionTree(common, work, version, variant);
        const kernel = readdirSync(join(common, 'boot')).find((f) => f.startsWith('vmlinuz-'));
        const kver = kernel.slice('vmlinuz-'.length);
        const uki = join(work, `uki-${version}.efi`);
        buildUki({
          stub: join(base, 'root/usr/lib/systemd/boot/efi/linuxx64.efi.stub'),
          kernel: join(base, 'root/boot', kernel),
          initrd: join(base, 'root/boot', `initrd.img-${kver}`),
          osRelease: `NAME="Outpost"\nID=outpost\nVERSION_ID="${version}"\nPRETTY_NAME="Outpost ${version}"\n`,
          out: uki,
        });
        const img = join(work, `rootfs-${version}.img`);
        const size = ext4Image(tree, img, 'rootfs');
        rmSync(tree, { recursive: true });
        built[version] = { variant, img, uki, size, kernelVersion: kver };
      }
      const dataImg = join(work, 'data.img');
      ext4Image(data, dataImg, 'data', LAYOUT.data.mib);

      const entry = (slot, version) =>
        [
          `title Outpost ${version} (slot ${slot})`,
          `version ${version}`,
          'sort-key outpost',
          `linux /outpost/${slot}/vmlinuz`,
          `options root=PARTLABEL=rootfs_${slot} ${KERNEL_OPTIONS}`,
          '',
        ].join('\n');
      const espImg = join(work, 'esp.img');
      buildEsp({
        out: espImg,
        mib: LAYOUT.esp.mib,
        bootloader: join(base, 'root/usr/lib/systemd/boot/efi/systemd-bootx64.efi'),
        files: {
          'loader/loader.conf': `default outpost-a.conf\ntimeout 0\neditor no\n`,
          'loader/entries/outpost-a.conf': entry('a', BASE_VERSION),
        },
        // The slot's boot file is a UKI (kernel + initramfs + os-release): the update agent's entries name
        // only `linux`. Slot b's is there from the start until the manifest carries boot files.
        binaries: {
          'outpost/a/vmlinuz': built[BASE_VERSION].uki,
          // Without boot files in the manifest, slot b's kernel must be there from the start.
          ...(MANIFEST_HAS_BOOT_FILES ? {} : { 'outpost/b/vmlinuz': built[BASE_VERSION].uki }),
        },
      });
      const disk = join(out, 'disk.img');
      const layout = assembleDisk({
        out: disk,
        esp: espImg,
        rootfsA: built[BASE_VERSION].img,
        data: dataImg,
      });

      const payloads = {};
      for (const { version, variant } of PAYLOADS) {
        const { img } = built[version];
        const gz = join(out, `rootfs-${version}.img.gz`);
        run('sh', ['-c', 'gzip -1 -n -c "$1" > "$2"', 'gzip', img, gz]);
        // The slot's boot file (a UKI) is served next to the image, named relative to it.
        const uki = `uki-${version}.efi`;
        copyFileSync(built[version].uki, join(out, uki));
        const manifest = signedManifest(
          {
            version,
            imageUrl: `${IMAGE_SERVER}/rootfs-${version}.img.gz`,
            size: statSync(img).size,
            sha256: fileSha256(img),
          },
          { url: uki, size: statSync(join(out, uki)).size, sha256: fileSha256(join(out, uki)) },
          key.pem,
        );
        writeFileSync(join(out, `manifest-${version}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
        payloads[version] = {
          variant,
          file: `rootfs-${version}.img.gz`,
          manifest: `manifest-${version}.json`,
          size: statSync(img).size,
          gzSize: statSync(gz).size,
        };
      }
      copyFileSync(key.path, join(out, 'update-test.pem'));
      const info = {
        key: imageKey,
        nodeId: NODE_ID,
        baseVersion: BASE_VERSION,
        kernel: built[BASE_VERSION].kernelVersion,
        imageServer: IMAGE_SERVER,
        disk: 'disk.img',
        layout,
        rootfsSize: built[BASE_VERSION].size,
        payloads,
        builtSeconds: Math.round((Date.now() - t0) / 1000),
      };
      writeFileSync(join(out, 'image.json'), `${JSON.stringify(info, null, 2)}\n`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  prune(cache, 'image-', dir);
  const info = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8'));
  return { dir, ...info, seconds: (Date.now() - t0) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const result = await build();
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
    else log(`ready in ${result.seconds.toFixed(1)} s: ${result.dir}`);
  } catch (err) {
    log(err.message);
    process.exitCode = 1;
  }
}
