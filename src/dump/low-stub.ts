// PROCESSOR_START_BLOCK ("low stub"): the real-mode trampoline Windows x64 leaves in the first MiB
// of physical memory. Raw images carry no header, so kernel discovery reads the boot CR3 from it
// (MemProcFS's test; formats.md §3). The offsets and the signature are fixed by the hardware start-up
// code, not by a kernel build, so they live here beside the check rather than in the ISF layout.

/** First 8 bytes masked with LOW_STUB_JMP_MASK: the `jmp` that starts the block (0xE9 …) and its length/flags. */
export const EXPECTED_LOW_STUB_JMP = 0x00000001000600e9n;
/** Bytes of the first quadword that vary between builds (the jump displacement) are ignored. */
export const LOW_STUB_JMP_MASK = 0x00ffffffffff00ffn;
/** Offset of the kernel entry point (a kernel-half address) in the block. */
export const LOW_STUB_KERNEL_ENTRY = 0x70;
/** Offset of the boot processor's CR3 in the block. */
export const LOW_STUB_CR3 = 0xa0;

/** The entry must be a 4-byte-aligned address in the kernel's 0xFFFFF800'… region. */
const ENTRY_REGION_MASK = 0xfffff80000000003n;
const EXPECTED_ENTRY_REGION = 0xfffff80000000000n;

export function lowStubEntryPlausible(entry: bigint): boolean {
  return (entry & ENTRY_REGION_MASK) === EXPECTED_ENTRY_REGION;
}
