// Burst builder: turns pieces of elements (vmsg_eng_piece) into write-burst descriptors.
//
// Pieces are appended to the open burst while they continue it (the piece stage says whether a
// piece continues the one before it, which is the open burst's last piece whenever there is an
// open burst) and the burst stays within MAX_BEATS beats; a piece that does not continue it
// closes the open burst into the descriptor FIFO. The write path takes the oldest descriptor, or
// the open burst itself when the FIFO is empty: so the open burst grows for as long as the write
// channel is busy with earlier bursts, and is handed over the moment the channel frees (batching
// under load, no wait when idle).
//
// Timing: whether a piece is taken depends on registers only (the open burst, the FIFO's full
// flag; a piece waits while the FIFO is full even when it would extend the open burst); the write
// path's take decides only what the open burst registers load. The oldest descriptor sits in a
// register in front of the FIFO (written directly when the FIFO behind it is empty), so that the
// write path decides on registers.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_burst #(
  parameter int unsigned NUM_Q           = 4,    // queues, 1..64
  parameter int unsigned AW              = 32,   // AXI address width
  parameter int unsigned MAX_BEATS       = 256,  // longest element burst in beats, 2..256
  parameter int unsigned DESC_FIFO_DEPTH = 16,   // closed descriptors waiting, power of two
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  // pieces
  input  wire           p_valid_i,
  input  wire  [QW-1:0] p_q_i,
  input  wire  [AW-1:0] p_addr_i,
  input  wire  [1:0]    p_words_i,
  input  wire           p_done_i,
  input  wire  [15:0]   p_end_i,
  input  wire           p_cont_i,
  input  wire  [1:0]    p_add_i,
  input  wire  [8:0]    p_beats_i,
  input  wire  [8:0]    p_room_i,
  output logic          p_ready_o,
  // descriptor to the write path
  output logic          d_valid_o,
  output logic [QW-1:0] d_q_o,
  output logic [AW-1:0] d_addr_o,    // byte address of the first word
  output logic [10:0]   d_words_o,   // 32-bit words, 1..1024
  output logic [8:0]    d_beats_o,   // beats, 1..256
  output logic [15:0]   d_end_o,     // ring index after the last complete element
  output logic          d_adv_o,     // the burst ends on an element boundary
  input  wire           d_take_i
);

  // a burst descriptor (the fields of the d_* outputs)
  typedef struct packed {
    logic [QW-1:0] q;
    logic [AW-1:0] addr;
    logic [10:0]   words;
    logic [8:0]    beats;
    logic [15:0]   end_idx;
    logic          adv;
  } desc_t;
  localparam int unsigned DEW = $bits(desc_t);

  // elaboration-time parameter checks
  if (MAX_BEATS < 2 || MAX_BEATS > 256) begin : g_param_err0
    $fatal(1, "vmsg_eng_burst: MAX_BEATS must be 2..256");
  end

  // ---------------------------------------------------------------------------------------
  // open burst
  logic          o_valid_q, o_adv_q;
  logic [QW-1:0] o_q_q;
  logic [AW-1:0] o_addr_q;
  logic [10:0]   o_words_q;
  logic [8:0]    o_beats_q, o_room_q;  // beats, MAX_BEATS - beats
  logic [15:0]   o_end_q;

  logic extend;
  assign extend = o_valid_q && p_cont_i && (p_add_i <= 2'(o_room_q) || o_room_q >= 9'd3);

  // ---------------------------------------------------------------------------------------
  // closed descriptors: the oldest in hd_q, the younger ones in the FIFO behind it (the FIFO is
  // only used while hd_q is, so the order holds)
  logic [0:0][DEW-1:0] df_head;
  logic                df_full, df_empty, df_push, df_pop, push, hd_free;
  desc_t               o_desc, d_desc;
  logic [$clog2(DESC_FIFO_DEPTH + 1)-1:0] df_count;
  logic                hd_valid_q;
  desc_t               hd_q;
  assign o_desc = '{q: o_q_q, addr: o_addr_q, words: o_words_q, beats: o_beats_q, end_idx: o_end_q,
                    adv: o_adv_q};
  vmsg_eng_fifo #(.WIDTH(DEW), .DEPTH(DESC_FIFO_DEPTH), .NRD(1)) u_desc (
    .clk_i, .rst_ni,
    .push_i  (df_push),
    .wdata_i (o_desc),
    .pop_i   (df_pop),
    .rdata_o (df_head),
    .count_o (df_count),
    .full_o  (df_full),
    .empty_o (df_empty)
  );

  // the write path takes the oldest closed descriptor, or the open burst when there is none
  logic take_open;
  assign d_valid_o = hd_valid_q || o_valid_q;
  assign d_desc    = hd_valid_q ? hd_q : o_desc;
  assign d_q_o     = d_desc.q;
  assign d_addr_o  = d_desc.addr;
  assign d_words_o = d_desc.words;
  assign d_beats_o = d_desc.beats;
  assign d_end_o   = d_desc.end_idx;
  assign d_adv_o   = d_desc.adv;
  assign take_open = d_take_i && !hd_valid_q;
  assign hd_free   = !hd_valid_q || d_take_i;         // hd_q is free for the next cycle
  assign df_pop    = hd_free && !df_empty;            // the FIFO's head moves to hd_q
  assign df_push   = push && !(hd_free && df_empty);  // else the new descriptor goes to hd_q

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      hd_valid_q <= 1'b0;
      hd_q       <= '0;
    end else if (hd_free) begin
      hd_valid_q <= !df_empty || push;
      hd_q       <= !df_empty ? df_head[0] : o_desc;
    end
  end

  // A piece is taken when it extends the open burst, opens the first one, or the open burst can
  // be closed into the FIFO.
  logic p_go, p_append;
  assign p_go      = p_valid_i && (!o_valid_q || !df_full);
  assign p_ready_o = p_go;
  assign p_append  = extend && !take_open;
  assign push      = p_go && o_valid_q && !extend && !take_open;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      o_valid_q <= 1'b0;
      o_adv_q   <= 1'b0;
      o_q_q     <= '0;
      o_addr_q  <= '0;
      o_words_q <= '0;
      o_beats_q <= '0;
      o_room_q  <= '0;
      o_end_q   <= '0;
    end else if (p_go) begin
      if (p_append) begin
        o_words_q <= o_words_q + 11'(p_words_i);
        o_beats_q <= o_beats_q + 9'(p_add_i);
        o_room_q  <= o_room_q - 9'(p_add_i);
        if (p_done_i) o_end_q <= p_end_i;
        o_adv_q   <= p_done_i;
      end else begin
        // the piece opens a new burst (the open one went to the FIFO or to the write path)
        o_valid_q <= 1'b1;
        o_q_q     <= p_q_i;
        o_addr_q  <= p_addr_i;
        o_words_q <= 11'(p_words_i);
        o_beats_q <= p_beats_i;
        o_room_q  <= p_room_i;
        o_end_q   <= p_end_i;
        o_adv_q   <= p_done_i;
      end
    end else if (take_open) begin
      o_valid_q <= 1'b0;
    end
  end

  logic unused_burst;
  assign unused_burst = ^df_count;

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // whether a burst of `words` words from page offset `ofs` stays in its 4 KiB page
  function automatic logic in_page(logic [11:0] ofs, logic [10:0] words);
    return (32'(ofs) + 32'(words) * 4) <= 32'd4096;
  endfunction

  // input rules, the piece stage's contract (vmsg_eng_piece proves the shape of its pieces):
  // a piece of 1 or 2 words and beats in its page, 4-byte aligned, its room the rest of
  // MAX_BEATS; a piece that continues the open burst follows it in the same queue and does not
  // start a page
  `VMSG_ASSUME(a_piece_shape,
      p_valid_i -> in_page(p_addr_i[11:0], 11'(p_words_i)) && p_addr_i[1:0] == 2'd0
                   && p_words_i >= 2'd1 && p_words_i <= 2'd2
                   && p_beats_i >= 9'd1 && p_beats_i <= 9'd2 && p_add_i <= 2'(p_beats_i)
                   && 32'(p_beats_i) + 32'(p_room_i) == MAX_BEATS,
    ("vmsg_eng_burst: a piece of %0d words, %0d beats, room %0d at 0x%0h", p_words_i, p_beats_i,
     p_room_i, p_addr_i))
  `VMSG_ASSUME(a_cont_addr,
      p_valid_i && extend -> p_q_i == o_q_q && 32'(p_addr_i - o_addr_q) == 32'(o_words_q) * 4
                             && p_addr_i[11:0] != 12'h000,
    ("vmsg_eng_burst: a piece continues a burst it does not follow"))

  // what the block guarantees
  `VMSG_ASSERT(a_head_first, !df_empty -> hd_valid_q,
    ("vmsg_eng_burst: descriptors in the FIFO but none in front of it"))
  `VMSG_ASSERT(a_room, o_valid_q -> 32'(o_beats_q) + 32'(o_room_q) == MAX_BEATS,
    ("vmsg_eng_burst: open burst beat count and room disagree"))
  // every burst is formed within its page and MAX_BEATS: the open one, hence every descriptor
  // closed from it into hd_q or the FIFO
  `VMSG_ASSERT(a_open_page, o_valid_q -> in_page(o_addr_q[11:0], o_words_q) && o_addr_q[1:0] == 2'd0
                                         && o_words_q >= 11'd1,
    ("vmsg_eng_burst: open burst of %0d words at 0x%0h crosses a 4 KiB boundary", o_words_q, o_addr_q))
  `VMSG_ASSERT(a_open_beats, o_valid_q -> o_beats_q >= 9'd1 && 32'(o_beats_q) <= MAX_BEATS,
    ("vmsg_eng_burst: open burst of %0d beats", o_beats_q))
  // the write path sees descriptors in the order they were closed: hd_q first, the open burst
  // only when nothing older waits
  `VMSG_ASSERT(a_take_order, d_valid_o && !hd_valid_q -> df_empty && d_desc == o_desc,
    ("vmsg_eng_burst: the open burst handed over before an older descriptor"))
  // a piece that waits is not taken, a piece is taken unless the FIFO is full behind an open burst
  `VMSG_ASSERT(a_piece_taken, p_valid_i && !(o_valid_q && df_full) -> p_ready_o,
    ("vmsg_eng_burst: a piece refused with room for it"))
`ifndef FORMAL
  // The same rules at the descriptor port, checked in simulation. A proof shows them where each
  // descriptor is formed (a_open_page, a_open_beats): at the start of an induction the FIFO's
  // storage is free, so a rule on what comes out of it does not close.
  `VMSG_ASSERT(a_desc_page, d_valid_o -> in_page(d_addr_o[11:0], d_words_o),
    ("vmsg_eng_burst: descriptor crosses a 4 KiB boundary"))
  `VMSG_ASSERT(a_desc_beats, d_valid_o -> (d_beats_o >= 9'd1 && 32'(d_beats_o) <= MAX_BEATS),
    ("vmsg_eng_burst: descriptor beat count out of range"))
`endif
`endif

endmodule

`default_nettype wire
