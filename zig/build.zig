//! Builds libframewire_native.so (C sources, zig cc) against Debian's libwebsockets 4.1.6, and
//! `zig build test`: C tests under test/ that drive the library over real 127.0.0.1 / ::1 / Unix sockets.
const std = @import("std");

/// The library's C sources, one concern each (see README.md).
const lib_sources = [_][]const u8{
    "context.c",
    "batch.c",
    "commands.c",
    "conntable.c",
    "outqueue.c",
    "sockets.c",
    "conn_io.c",
    "listen.c",
    "connect.c",
    "address.c",
    "log.c",
};

const tests = [_][]const u8{
    "test_echo",
    "test_two_contexts",
    "test_many",
    "test_backpressure",
    "test_stop",
    "test_connect_fail",
    "test_unix",
    "test_ipv6",
    "test_halfclose",
    "test_batch_full",
    "test_notify",
    "test_partial",
    "test_emfile",
};

const c_flags = [_][]const u8{
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-fvisibility=hidden",
};

pub fn build(b: *std.Build) void {
    // Debian bookworm's glibc, explicitly: zig's own glibc stubs for that version, never /usr/include.
    const target = b.standardTargetOptions(.{ .default_target = .{
        .cpu_arch = .x86_64,
        .os_tag = .linux,
        .abi = .gnu,
        .glibc_version = .{ .major = 2, .minor = 36, .patch = 0 },
    } });
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Optimization mode (default ReleaseFast)") orelse .ReleaseFast;
    const valgrind = b.option(bool, "valgrind", "Run the C tests under valgrind --error-exitcode=1 (default false)") orelse false;
    const lws_lib = b.option([]const u8, "lws-lib", "libwebsockets shared object to link (default Debian's)") orelse
        "/usr/lib/x86_64-linux-gnu/libwebsockets.so";

    // An include directory exposing only what libwebsockets.h needs from /usr/include: adding all of
    // /usr/include would mix Debian's glibc headers with zig's.
    const sys = b.addWriteFiles();
    _ = sys.addCopyFile(.{ .cwd_relative = "/usr/include/libwebsockets.h" }, "libwebsockets.h");
    _ = sys.addCopyFile(.{ .cwd_relative = "/usr/include/lws_config.h" }, "lws_config.h");
    _ = sys.addCopyFile(.{ .cwd_relative = "/usr/include/sys/capability.h" }, "sys/capability.h");
    _ = sys.addCopyDirectory(.{ .cwd_relative = "/usr/include/libwebsockets" }, "libwebsockets", .{});
    _ = sys.addCopyDirectory(.{ .cwd_relative = "/usr/include/openssl" }, "openssl", .{});
    // Debian keeps OpenSSL's arch-specific configuration headers apart.
    _ = sys.addCopyFile(.{ .cwd_relative = "/usr/include/x86_64-linux-gnu/openssl/opensslconf.h" }, "openssl/opensslconf.h");
    _ = sys.addCopyFile(.{ .cwd_relative = "/usr/include/x86_64-linux-gnu/openssl/configuration.h" }, "openssl/configuration.h");

    const mod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
    mod.addIncludePath(b.path("include"));
    mod.addIncludePath(sys.getDirectory());
    mod.addCSourceFiles(.{ .root = b.path("src"), .files = &lib_sources, .flags = &c_flags });
    mod.addObjectFile(.{ .cwd_relative = lws_lib });

    const lib = b.addLibrary(.{ .name = "framewire_native", .linkage = .dynamic, .root_module = mod });
    b.installArtifact(lib);

    const test_step = b.step("test", "Build and run the C tests against the library");
    for (tests) |name| {
        // valgrind virtualizes RLIMIT_NOFILE (it keeps descriptors of its own above the limit)
        if (valgrind and std.mem.eql(u8, name, "test_emfile")) continue;
        const tmod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
        tmod.addIncludePath(b.path("include"));
        tmod.addIncludePath(b.path("test"));
        tmod.addCSourceFiles(.{
            .root = b.path("test"),
            .files = &.{ b.fmt("{s}.c", .{name}), "harness.c" },
            .flags = &c_flags,
        });
        tmod.linkLibrary(lib);
        const exe = b.addExecutable(.{ .name = name, .root_module = tmod });
        const run = if (valgrind) blk: {
            const r = b.addSystemCommand(&.{ "valgrind", "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite", "-q" });
            r.addArtifactArg(exe);
            break :blk r;
        } else b.addRunArtifact(exe);
        run.expectExitCode(0);
        run.has_side_effects = true; // real sockets: run every time, never from the cache
        test_step.dependOn(&run.step);
    }
}
