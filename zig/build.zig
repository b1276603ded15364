//! Builds libframewire_native.so: the C sources in src/ against Debian's libwebsockets 4.1.
//!   python3 -m ziglang build -p zig-out          the library (zig-out/lib)
//!   python3 -m ziglang build test -p zig-out     the C tests in test/ on real loopback sockets
const std = @import("std");

/// Debian bookworm's glibc: the library then loads on bookworm and anything newer.
const glibc = std.SemanticVersion{ .major = 2, .minor = 36, .patch = 0 };

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{ .default_target = .{ .cpu_arch = .x86_64, .os_tag = .linux, .abi = .gnu, .glibc_version = glibc } });
    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });
    const headers = systemHeaders(b);
    const flags = &.{ "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fvisibility=hidden", "-DFWN_BUILDING" };

    const lib_mod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
    lib_mod.addCSourceFiles(.{ .root = b.path("src"), .files = &sources, .flags = flags });
    addLibwebsockets(b, lib_mod, headers);
    const lib = b.addLibrary(.{ .name = "framewire_native", .linkage = .dynamic, .root_module = lib_mod });
    b.installArtifact(lib);

    const test_step = b.step("test", "Run the C tests (real sockets on 127.0.0.1, ::1 and a Unix socket)");
    const test_mod = b.createModule(.{ .target = target, .optimize = .Debug, .link_libc = true });
    test_mod.addCSourceFiles(.{ .root = b.path("test"), .files = &.{"native_test.c"}, .flags = &.{ "-std=gnu11", "-Wall", "-Wextra", "-Werror" } });
    test_mod.addIncludePath(b.path("include"));
    test_mod.linkLibrary(lib);
    const test_exe = b.addExecutable(.{ .name = "native_test", .root_module = test_mod });
    const run = b.addRunArtifact(test_exe);
    run.expectExitCode(0);
    test_step.dependOn(&run.step);
}

const sources = [_][]const u8{ "batch.c", "commands.c", "context.c", "io.c", "net.c", "table.c" };

/// zig cc brings its own glibc headers; adding all of /usr/include would mix two libcs. So the
/// build sees only what libwebsockets.h needs from the system, copied into the build cache.
fn systemHeaders(b: *std.Build) std.Build.LazyPath {
    const files = b.addWriteFiles();
    const usr = std.Build.LazyPath{ .cwd_relative = "/usr/include" };
    _ = files.addCopyFile(usr.path(b, "libwebsockets.h"), "libwebsockets.h");
    _ = files.addCopyFile(usr.path(b, "lws_config.h"), "lws_config.h");
    _ = files.addCopyFile(usr.path(b, "sys/capability.h"), "sys/capability.h");
    _ = files.addCopyDirectory(usr.path(b, "libwebsockets"), "libwebsockets", .{});
    _ = files.addCopyDirectory(usr.path(b, "openssl"), "openssl", .{});
    // Debian keeps OpenSSL's per-architecture headers (opensslconf.h, configuration.h) apart.
    _ = files.addCopyDirectory(usr.path(b, "x86_64-linux-gnu/openssl"), "openssl", .{});
    return files.getDirectory();
}

fn addLibwebsockets(b: *std.Build, mod: *std.Build.Module, headers: std.Build.LazyPath) void {
    mod.addIncludePath(headers);
    mod.addIncludePath(b.path("include"));
    mod.addLibraryPath(.{ .cwd_relative = "/usr/lib/x86_64-linux-gnu" });
    mod.linkSystemLibrary("websockets", .{ .use_pkg_config = .no });
}
