/* Marks one version requirement of an ELF64 shared library as weak (VER_FLG_WEAK), in place.
 * The dynamic loader then no longer refuses to load the library when the named file
 * (libstdc++.so.6) lacks that version; symbols bound to the version are looked up in the
 * library's whole scope instead, where glibcxx-shim provides them.
 * usage: elf-weaken-verneed FILE VERSION   (exit 0 when flagged or already weak) */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *file, const char *what) {
    fprintf(stderr, "elf-weaken-verneed: %s: %s\n", file, what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: elf-weaken-verneed FILE VERSION\n");
        return 2;
    }
    const char *file = argv[1], *version = argv[2];
    int fd = open(file, O_RDWR);
    if (fd < 0) return fail(file, "cannot open for writing");
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) return fail(file, "not an ELF file");
    unsigned char *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return fail(file, "cannot map");
    size_t size = (size_t)st.st_size;

    Elf64_Ehdr *eh = (Elf64_Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return fail(file, "not a 64-bit ELF file");
    if (eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
        return fail(file, "no section headers");
    Elf64_Shdr *sh = (Elf64_Shdr *)(base + eh->e_shoff);

    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        if (sh[i].sh_link >= eh->e_shnum) return fail(file, "bad .gnu.version_r link");
        const char *strtab = (const char *)(base + sh[sh[i].sh_link].sh_offset);
        size_t off = sh[i].sh_offset;
        for (unsigned n = 0; n < sh[i].sh_info; n++) {
            if (off + sizeof(Elf64_Verneed) > size) return fail(file, "truncated .gnu.version_r");
            Elf64_Verneed *vn = (Elf64_Verneed *)(base + off);
            size_t aux = off + vn->vn_aux;
            for (unsigned k = 0; k < vn->vn_cnt; k++) {
                if (aux + sizeof(Elf64_Vernaux) > size) return fail(file, "truncated .gnu.version_r");
                Elf64_Vernaux *va = (Elf64_Vernaux *)(base + aux);
                if (strcmp(strtab + va->vna_name, version) == 0) {
                    va->vna_flags |= VER_FLG_WEAK;
                    msync(base, size, MS_SYNC);
                    munmap(base, size);
                    close(fd);
                    return 0;
                }
                aux += va->vna_next;
            }
            off += vn->vn_next;
        }
    }
    munmap(base, size);
    close(fd);
    return fail(file, "version requirement not found");
}
