// Burst builder: turns accepted elements into write-burst descriptors.
//
// An element is one piece of two 32-bit words (id, len), except an element that straddles a
// 4 KiB boundary, which is handled as two one-word pieces on two cycles. Pieces are appended to
// the open burst while they continue it (same queue, the next address, the same 4 KiB page, at
// most MAX_BEATS beats); a piece that does not continue it closes the open burst into the
// descriptor FIFO. The write path takes the oldest descriptor, or the open burst itself when the
// FIFO is empty: so the open burst grows for as long as the write channel is busy with earlier
// bursts, and is handed over the moment the channel frees (batching under load, no wait when
// idle).

`default_nettype none

module vmsg_eng_burst #(
  parameter int unsigned NUM_Q           = 4,    // queues, 1..64
  parameter int unsigned AW              = 32,   // AXI address width
  parameter int unsigned DW              = 64,   // AXI data width
  parameter int unsigned MAX_BEATS       = 256,  // longest element burst in beats, 2..256
  parameter int unsigned DESC_FIFO_DEPTH = 16,   // closed descriptors waiting, power of two
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,
  localparam int unsigned DW_BYTES = DW / 8
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  // accepted elements
  input  wire           e_valid_i,
  input  wire  [QW-1:0] e_q_i,
  input  wire  [15:0]   e_idx_i,
  input  wire  [AW-1:0] e_addr_i,
  output logic          e_ready_o,
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

  localparam int unsigned S  = $clog2(DW_BYTES);  // log2 bytes per beat
  localparam int unsigned DEW = QW + AW + 11 + 9 + 16 + 1;

  // elaboration-time parameter checks
  if (MAX_BEATS < 2 || MAX_BEATS > 256) begin : g_param_err0
    $fatal(1, "vmsg_eng_burst: MAX_BEATS must be 2..256");
  end

  // ---------------------------------------------------------------------------------------
  // current piece
  logic          half_q;    // the second (len) half of a straddling element is next
  logic          straddle;
  logic [AW-1:0] p_addr;
  logic [1:0]    p_words;
  logic          p_done;    // the piece completes the element
  assign straddle = (e_addr_i[11:0] == 12'hFFC);
  assign p_addr   = half_q ? e_addr_i + AW'(4) : e_addr_i;
  assign p_words  = straddle ? 2'd1 : 2'd2;
  assign p_done   = !straddle || half_q;

  // ---------------------------------------------------------------------------------------
  // open burst
  logic          o_valid_q, o_adv_q;
  logic [QW-1:0] o_q_q;
  logic [AW-1:0] o_addr_q, o_next_q;  // first byte, byte after the last word
  logic [10:0]   o_words_q;
  logic [8:0]    o_beats_q;
  logic [15:0]   o_end_q;

  // beats of the open burst with the piece appended (same page)
  logic [12:0] p_last_off;
  logic [12:0] new_beats;
  assign p_last_off = 13'(p_addr[11:0]) + 13'({p_words, 2'b00}) - 13'd1;
  assign new_beats  = 13'((p_last_off >> S) - 13'(o_addr_q[11:0] >> S) + 13'd1);

  logic extend;
  assign extend = o_valid_q && (o_q_q == e_q_i) && (o_next_q == p_addr) &&
                  (p_addr[11:0] != 12'd0) && (new_beats <= 13'(MAX_BEATS));

  // beats of a burst made of the piece alone
  logic [8:0] p_beats;
  assign p_beats = 9'(((p_last_off >> S) - 13'(p_addr[11:0] >> S)) + 13'd1);

  // ---------------------------------------------------------------------------------------
  // descriptor FIFO
  logic [0:0][DEW-1:0] df_head;
  logic                df_full, df_empty, df_push, df_pop;
  logic [DEW-1:0]      o_desc;
  logic [$clog2(DESC_FIFO_DEPTH + 1)-1:0] df_count;
  assign o_desc = {o_q_q, o_addr_q, o_words_q, o_beats_q, o_end_q, o_adv_q};
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

  // the write path takes the FIFO head, or the open burst when the FIFO is empty
  logic take_open;
  assign d_valid_o = !df_empty || o_valid_q;
  assign {d_q_o, d_addr_o, d_words_o, d_beats_o, d_end_o, d_adv_o} = df_empty ? o_desc : df_head[0];
  assign df_pop    = d_take_i && !df_empty;
  assign take_open = d_take_i && df_empty;

  // piece handling
  logic p_go;
  always_comb begin
    df_push = 1'b0;
    p_go    = 1'b0;
    if (e_valid_i) begin
      if (take_open) begin
        p_go = 1'b1;                 // open burst leaves; the piece opens a new one
      end else if (extend) begin
        p_go = 1'b1;
      end else if (!o_valid_q) begin
        p_go = 1'b1;
      end else if (!df_full) begin
        p_go    = 1'b1;              // close the open burst, the piece opens a new one
        df_push = 1'b1;
      end
    end
  end
  assign e_ready_o = p_go && p_done;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      half_q    <= 1'b0;
      o_valid_q <= 1'b0;
      o_adv_q   <= 1'b0;
      o_q_q     <= '0;
      o_addr_q  <= '0;
      o_next_q  <= '0;
      o_words_q <= '0;
      o_beats_q <= '0;
      o_end_q   <= '0;
    end else begin
      if (p_go) half_q <= straddle && !half_q;
      if (p_go) begin
        if (extend && !take_open) begin
          o_next_q  <= p_addr + AW'({p_words, 2'b00});
          o_words_q <= o_words_q + 11'(p_words);
          o_beats_q <= 9'(new_beats);
          if (p_done) begin
            o_end_q <= e_idx_i + 16'd1;
            o_adv_q <= 1'b1;
          end else begin
            o_adv_q <= 1'b0;
          end
        end else begin
          o_valid_q <= 1'b1;
          o_q_q     <= e_q_i;
          o_addr_q  <= p_addr;
          o_next_q  <= p_addr + AW'({p_words, 2'b00});
          o_words_q <= 11'(p_words);
          o_beats_q <= p_beats;
          o_end_q   <= e_idx_i + 16'd1;
          o_adv_q   <= p_done;
        end
      end else if (take_open) begin
        o_valid_q <= 1'b0;
      end
    end
  end

  logic unused_burst;
  assign unused_burst = ^df_count;

`ifndef SYNTHESIS
  // assertions start one cycle after reset
  logic sva_en_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sva_en_q <= 1'b0;
    else         sva_en_q <= 1'b1;
  end
  a_desc_page: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    d_valid_o |-> ((32'(d_addr_o[11:0]) + 32'(d_words_o) * 4) <= 32'd4096))
    else $error("vmsg_eng_burst: descriptor crosses a 4 KiB boundary");
  a_desc_beats: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    d_valid_o |-> (d_beats_o >= 9'd1 && 32'(d_beats_o) <= MAX_BEATS))
    else $error("vmsg_eng_burst: descriptor beat count out of range");
`endif

endmodule

`default_nettype wire
