// Package p2k serves a mounted vfs file system through FUSE, as NetBSD's
// libp2k turns puffs requests into VOP_* calls in a rump kernel, and is
// the front of every rump_<fs> daemon.
//
// Three layers, each usable alone:
//
//   - Bridge is a go-fuse RawFileSystem over one vfs.Mount. Each inode the
//     kernel knows is a FUSE node holding exactly one vnode reference,
//     given back when the kernel forgets it (FORGET) and no open handle
//     uses it; inode numbers and generations are the file system's own.
//     Without default_permissions the bridge checks access with the
//     caller's credentials before every operation (NetBSD's VOP_ACCESS,
//     sticky directories, chmod/chown/utimes rules), since FUSE then checks
//     nothing itself. Changes to the mount are serialised by a writer lock;
//     reads run in parallel.
//   - Serve mounts a Bridge on a directory (mount(2) as root, fusermount3
//     otherwise) and returns once the mount is live; Server.Unmount and
//     Server.Wait end it, lazily detaching a busy mount.
//   - Daemon is the command line of rump_<fs>: options, detaching only once
//     the mount is live (the exit status tells whether it worked), signals,
//     and NetBSD p2k's environment variables P2K_NODETACH, P2K_DEBUG,
//     P2K_NOCACHE, P2K_NOCACHE_PAGE, P2K_NOCACHE_NAME and P2K_WIZARDUID.
//     The image is opened and mounted by the kernel object (kern.Mount).
package p2k
