#!/usr/bin/env bash
# scripts/download_data.sh — fetch the datasets stablenn reads (chapter 3), from their official
# addresses, and check their md5 sums. Needs internet access, curl or wget, md5sum (or md5), tar.
#
#   scripts/download_data.sh [--check] [DEST] [DATASET ...]
#
# DEST defaults to ./data (one of the folders the programs search; see datasets/data_dir.h).
# DATASET: mnist, fashion-mnist, cifar-10, cifar-100, or all; default: mnist fashion-mnist cifar-10.
# --check only verifies what is already in DEST and downloads nothing.
# Files already present with the right md5 are kept. Downloads go to a ".part" file that is renamed
# only once its md5 is right, so an interrupted run leaves nothing half-written behind.
# STABLENN_MIRROR=URL (optional) is tried before the official addresses, as URL/<dataset>/<file>.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

check_only=0
args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --check) check_only=1 ;;
    -*) echo "download_data.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
    *) args+=("$arg") ;;
  esac
done
dest="./data"
if [ ${#args[@]} -gt 0 ] && [[ "${args[0]}" != mnist && "${args[0]}" != fashion-mnist && \
      "${args[0]}" != cifar-10 && "${args[0]}" != cifar-100 && "${args[0]}" != all ]]; then
  dest="${args[0]}"
  args=("${args[@]:1}")
fi
datasets=("${args[@]:-}")
if [ -z "${datasets[0]:-}" ]; then datasets=(mnist fashion-mnist cifar-10); fi
if [ "${datasets[0]}" = all ]; then datasets=(mnist fashion-mnist cifar-10 cifar-100); fi

# ---- tools ----
md5_of() {
  if command -v md5sum >/dev/null 2>&1; then md5sum "$1" | cut -d' ' -f1
  else md5 -q "$1"; fi
}
fetch() {  # fetch URL FILE: 0 on success
  if command -v curl >/dev/null 2>&1; then
    curl -fL --progress-bar --retry 2 --connect-timeout 20 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    echo "download_data.sh: needs curl or wget" >&2; return 1
  fi
}

# get DATASET FILE MD5 URL... : puts DEST/DATASET/FILE in place, trying each URL until the md5 fits.
get() {
  local dataset="$1" file="$2" md5="$3"; shift 3
  local target="$dest/$dataset/$file"
  if [ -f "$target" ] && [ "$(md5_of "$target")" = "$md5" ]; then
    echo "  ok       $target"; return 0
  fi
  if [ "$check_only" = 1 ]; then
    if [ -f "$target" ]; then echo "  BAD MD5  $target (expected $md5)"; else echo "  missing  $target"; fi
    return 1
  fi
  mkdir -p "$dest/$dataset"
  local urls=()
  if [ -n "${STABLENN_MIRROR:-}" ]; then urls+=("$STABLENN_MIRROR/$dataset/$file"); fi
  urls+=("$@")
  for base_url in "${urls[@]}"; do
    echo "  fetching $base_url"
    rm -f "$target.part"
    if fetch "$base_url" "$target.part"; then
      local got; got="$(md5_of "$target.part")"
      if [ "$got" = "$md5" ]; then mv "$target.part" "$target"; echo "  ok       $target"; return 0; fi
      echo "  md5 mismatch from $base_url: got $got, expected $md5" >&2
    fi
  done
  rm -f "$target.part"
  echo "download_data.sh: could not get $file for $dataset from any address" >&2
  return 1
}

# ---- MNIST and Fashion-MNIST: the four .gz files, kept compressed (the readers use zlib) ----
mnist_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
             t10k-labels-idx1-ubyte.gz)
mnist_md5=(f68b3c2dcbeaaa9fbdd348bbdeb94873 d53e105ee54ea40749a09fcbcd1e9432
           9fb629c4189551a2d022fa330f9573f3 ec29112dd5afa0611ce80d1b7f02629c)
fashion_md5=(8d4fb7e6c68d591d4c3dfef9ec88bf0d 25c81989df183df01b3e8a0aad5dffbe
             bef4ecab320f06d8554ea6380940ec79 bb300cfdad3c16e7a12a480ee83cd310)

get_mnist() {
  local k status=0
  for k in 0 1 2 3; do
    get mnist "${mnist_files[$k]}" "${mnist_md5[$k]}" \
      "https://ossci-datasets.s3.amazonaws.com/mnist/${mnist_files[$k]}" \
      "http://yann.lecun.com/exdb/mnist/${mnist_files[$k]}" || status=1
  done
  return $status
}

get_fashion() {
  local k status=0
  for k in 0 1 2 3; do
    get fashion-mnist "${mnist_files[$k]}" "${fashion_md5[$k]}" \
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/${mnist_files[$k]}" \
      "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/${mnist_files[$k]}" \
      || status=1
  done
  return $status
}

# ---- CIFAR: the official binary tarball (md5 checked), unpacked into DEST/<dataset>/ ----
# The official site publishes an md5 for the tarball only. For the unpacked CIFAR-10 files, the md5s
# of the copies in shared/data (README.md there: rebuilt losslessly, identical on every check made)
# are shown as information; the size is what is required.
reference_md5() {
  case "$1" in
    data_batch_1.bin) echo 5dd7e06a14cb22eb9f671a540d1b7c25 ;;
    data_batch_2.bin) echo 5ea93a67294ea407fff1d09f752e9692 ;;
    data_batch_3.bin) echo 942cd6a4bcdd0dd3c604fbe906cb4421 ;;
    data_batch_4.bin) echo ae636b3ba5c66a11e91e8cb52e771fcb ;;
    data_batch_5.bin) echo 53f37980c15c3d472c316c40844f3f0d ;;
    test_batch.bin) echo 803d5f7f4d78ea53de84dbe85f74fb6d ;;
    *) echo none ;;
  esac
}
# check_cifar DATASET BYTES FILE...: every FILE (or FILE.gz) in DEST/DATASET has BYTES bytes.
check_cifar() {
  local dataset="$1" expected="$2"; shift 2
  local file path size md5 note status=0
  for file in "$@"; do
    path="$dest/$dataset/$file"
    if [ -f "$path" ]; then size=$(wc -c < "$path"); md5=$(md5_of "$path")
    elif [ -f "$path.gz" ]; then
      size=$(gzip -dc "$path.gz" | wc -c); md5=$(gzip -dc "$path.gz" | md5_of /dev/stdin)
      path="$path.gz"
    else echo "  missing  $path"; status=1; continue; fi
    size=$((size + 0))
    note=""
    if [ "$(reference_md5 "$file")" != none ]; then
      if [ "$md5" = "$(reference_md5 "$file")" ]; then note=" (md5 matches the reference copy)"
      else note=" (note: md5 $md5 differs from the reference copy)"; fi
    fi
    if [ "$size" = "$expected" ]; then echo "  ok       $path$note"
    else echo "  BAD SIZE $path: $size bytes, expected $expected"; status=1; fi
  done
  return $status
}

get_cifar() {  # get_cifar DATASET ARCHIVE MD5 FOLDER_IN_ARCHIVE
  local dataset="$1" archive="$2" md5="$3" inner="$4"
  local files sizes
  if [ "$dataset" = cifar-10 ]; then
    files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin
           test_batch.bin)
    if check_cifar cifar-10 30730000 "${files[@]}" >/dev/null 2>&1; then
      check_cifar cifar-10 30730000 "${files[@]}"; return 0
    fi
  else
    if check_cifar cifar-100 153700000 train.bin >/dev/null 2>&1 && \
       check_cifar cifar-100 30740000 test.bin >/dev/null 2>&1; then
      check_cifar cifar-100 153700000 train.bin; check_cifar cifar-100 30740000 test.bin; return 0
    fi
  fi
  if [ "$check_only" = 1 ]; then
    if [ "$dataset" = cifar-10 ]; then check_cifar cifar-10 30730000 "${files[@]}" || true
    else check_cifar cifar-100 153700000 train.bin || true; check_cifar cifar-100 30740000 test.bin || true; fi
    return 1
  fi
  get "$dataset" "$archive" "$md5" "https://www.cs.toronto.edu/~kriz/$archive" || return 1
  local unpack="$dest/$dataset/.unpack.$$"
  rm -rf "$unpack"; mkdir -p "$unpack"
  tar -xzf "$dest/$dataset/$archive" -C "$unpack"
  mv -f "$unpack/$inner"/* "$dest/$dataset/"
  rm -rf "$unpack" "$dest/$dataset/$archive"
  if [ "$dataset" = cifar-10 ]; then check_cifar cifar-10 30730000 "${files[@]}"
  else check_cifar cifar-100 153700000 train.bin && check_cifar cifar-100 30740000 test.bin; fi
}

status=0
for dataset in "${datasets[@]}"; do
  echo "$dataset -> $dest/$dataset"
  case "$dataset" in
    mnist) get_mnist || status=1 ;;
    fashion-mnist) get_fashion || status=1 ;;
    cifar-10) get_cifar cifar-10 cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 \
                cifar-10-batches-bin || status=1 ;;
    cifar-100) get_cifar cifar-100 cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 \
                 cifar-100-binary || status=1 ;;
    *) echo "download_data.sh: unknown dataset '$dataset' (mnist, fashion-mnist, cifar-10, cifar-100, all)" >&2
       status=2 ;;
  esac
done
if [ "$status" = 0 ]; then
  echo "done: the programs find the data in $dest (or pass --data-dir $dest / set STABLENN_DATA=$dest)"
fi
exit $status
