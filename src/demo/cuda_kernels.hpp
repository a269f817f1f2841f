// The demo's GPU work, written in PTX so gpucr needs no CUDA toolkit to build: the driver
// compiles it when the module is loaded.
//   fill(u32* buf, u64 n, u32 seed):         buf[i] = pattern(i, seed)
//   verify(u32* buf, u64 n, u32 seed, u32* bad): atomically counts words != pattern(i, seed)
//   bump(u32* counter):                       ++*counter (one thread)
// pattern(i, seed) = (u32)i * 0x9E3779B1 ^ seed ^ (u32)(i >> 32)
#pragma once

namespace gpucr::demo {

inline constexpr const char* kDemoPtx = R"PTX(
.version 7.0
.target sm_70
.address_size 64

.visible .entry fill(.param .u64 buf, .param .u64 n, .param .u32 seed)
{
  .reg .pred %p;
  .reg .u32 %r<8>;
  .reg .u64 %rd<8>;
  ld.param.u64 %rd1, [buf];
  ld.param.u64 %rd2, [n];
  ld.param.u32 %r1, [seed];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mul.wide.u32 %rd3, %r2, %r3;
  cvt.u64.u32 %rd4, %r4;
  add.u64 %rd3, %rd3, %rd4;
  mov.u32 %r5, %nctaid.x;
  mul.wide.u32 %rd5, %r5, %r3;
FILL_LOOP:
  setp.ge.u64 %p, %rd3, %rd2;
  @%p bra FILL_DONE;
  cvt.u32.u64 %r6, %rd3;
  mul.lo.u32 %r6, %r6, 0x9E3779B1;
  xor.b32 %r6, %r6, %r1;
  shr.u64 %rd6, %rd3, 32;
  cvt.u32.u64 %r7, %rd6;
  xor.b32 %r6, %r6, %r7;
  shl.b64 %rd6, %rd3, 2;
  add.u64 %rd7, %rd1, %rd6;
  st.global.u32 [%rd7], %r6;
  add.u64 %rd3, %rd3, %rd5;
  bra FILL_LOOP;
FILL_DONE:
  ret;
}

.visible .entry verify(.param .u64 buf, .param .u64 n, .param .u32 seed, .param .u64 bad)
{
  .reg .pred %p;
  .reg .u32 %r<10>;
  .reg .u64 %rd<10>;
  ld.param.u64 %rd1, [buf];
  ld.param.u64 %rd2, [n];
  ld.param.u32 %r1, [seed];
  ld.param.u64 %rd8, [bad];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mul.wide.u32 %rd3, %r2, %r3;
  cvt.u64.u32 %rd4, %r4;
  add.u64 %rd3, %rd3, %rd4;
  mov.u32 %r5, %nctaid.x;
  mul.wide.u32 %rd5, %r5, %r3;
VERIFY_LOOP:
  setp.ge.u64 %p, %rd3, %rd2;
  @%p bra VERIFY_DONE;
  cvt.u32.u64 %r6, %rd3;
  mul.lo.u32 %r6, %r6, 0x9E3779B1;
  xor.b32 %r6, %r6, %r1;
  shr.u64 %rd6, %rd3, 32;
  cvt.u32.u64 %r7, %rd6;
  xor.b32 %r6, %r6, %r7;
  shl.b64 %rd6, %rd3, 2;
  add.u64 %rd7, %rd1, %rd6;
  ld.global.u32 %r8, [%rd7];
  setp.eq.u32 %p, %r8, %r6;
  @%p bra VERIFY_NEXT;
  atom.global.add.u32 %r9, [%rd8], 1;
VERIFY_NEXT:
  add.u64 %rd3, %rd3, %rd5;
  bra VERIFY_LOOP;
VERIFY_DONE:
  ret;
}

.visible .entry bump(.param .u64 counter)
{
  .reg .u32 %r<3>;
  .reg .u64 %rd<2>;
  ld.param.u64 %rd1, [counter];
  ld.global.u32 %r1, [%rd1];
  add.u32 %r2, %r1, 1;
  st.global.u32 [%rd1], %r2;
  ret;
}
)PTX";

}  // namespace gpucr::demo
